"""Links in the HTML we write are allow-listed and escaped (issue 17)."""

from __future__ import annotations

import html
import re

import pytest

from target_salesforce_aimdoc import crm_objects, report_files, safe_html
from target_salesforce_aimdoc.links import LinkStore
from target_salesforce_aimdoc.notes_render import render_note

HOSTILE = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x00javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "http://evil.example.com/",  # plain http only for the local emulators
    "https:\\\\evil.example.com",
    "//evil.example.com/x",
    "/lightning/r/Lead/00Q/view",
    "https://",
    "https://127.0.0.1:99999999/",
    'https://x.com/"><script>alert(1)</script>',
]
ALLOWED = [
    "https://acme.my.salesforce.com",
    "https://acme.my.salesforce.com/lightning/r/Lead/00Q5e00000AbCdEAAA/view",
    "http://127.0.0.1:8443/x",
    "http://localhost:8080",
    "https://127.0.0.1:50000",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_urls_are_never_links(url):
    assert safe_html.safe_url(url) is None
    rendered = safe_html.link(url, "open")
    assert "<a" not in rendered and "href" not in rendered
    assert "<script" not in rendered
    assert rendered == html.escape(url)  # shown as text


@pytest.mark.parametrize("url", ALLOWED)
def test_allowed_urls_are_links(url):
    assert safe_html.safe_url(url) == url
    assert safe_html.link(url, "open") == (
        f'<a href="{html.escape(url)}" rel="noopener noreferrer">open</a>')


def test_a_link_escapes_its_label_and_quotes():
    rendered = safe_html.link("https://x.example.com/?a=1&b='2'", '<b>"me"</b>')
    assert 'href="https://x.example.com/?a=1&amp;b=&#x27;2&#x27;"' in rendered
    assert "&lt;b&gt;&quot;me&quot;&lt;/b&gt;" in rendered


def store_with(instance_url: str) -> LinkStore:
    store = LinkStore()
    store.load({"salesforce_links": {"version": 1, "instance_url": instance_url, "records": {
        "contacts/c1": {"Lead": "00Q5e00000AbCdEAAA", "Contact": "0035e00000AbCdEAAA"}}}})
    return store


@pytest.mark.parametrize("instance_url", HOSTILE)
def test_crm_objects_page_from_a_hostile_state_has_no_script_link(instance_url):
    page = crm_objects.render_html(crm_objects.table(store_with(instance_url)))
    assert 'href="javascript:' not in page.lower()
    assert "<a " not in page
    assert "<script" not in page


def test_crm_objects_page_links_a_real_instance():
    page = crm_objects.render_html(crm_objects.table(store_with("https://acme.my.salesforce.com")))
    assert page.count('<a href="https://acme.my.salesforce.com/lightning/r/') == 2


def test_record_urls_need_an_allowed_instance_and_quote_the_id():
    assert report_files.record_url("javascript:alert(1)//", "Lead", "00Q") is None
    assert report_files.record_url("https://acme.my.salesforce.com/", "Lead", "a/b?c") == (
        "https://acme.my.salesforce.com/lightning/r/Lead/a%2Fb%3Fc/view")


def report_data(url: str | None) -> dict:
    return {"mode": "applied", "started_at": "2026-12-02T00:00:00", "duration_seconds": 1,
            "api": {"calls": 1, "org_remaining": None}, "counts": [], "skipped_by_rule": [],
            "failures": [], "records": [{"stream": "contacts", "key": "c1", "objects": {
                "Lead": {"outcome": "created", "id": "00Q5e00000AbCdEAAA", "url": url}}}]}


@pytest.mark.parametrize("url", HOSTILE)
def test_run_report_never_links_a_hostile_url(url):
    page = report_files.render_html(report_data(url))
    (cell,) = re.findall(r"created</span> Lead\s*(.*?)\n", page)
    assert "<a" not in cell and "href" not in page
    assert "<script" not in page.split("</style>", 1)[1]


def test_run_report_links_a_record():
    url = "https://acme.my.salesforce.com/lightning/r/Lead/00Q5e00000AbCdEAAA/view"
    page = report_files.render_html(report_data(url))
    assert f'<a href="{url}" rel="noopener noreferrer">00Q5e00000AbCdEAAA</a>' in page


def transcript(**fields) -> dict:
    return {"conversation_id": "conv-1234567890ab", "agent_id": "agent-1", "messages": [],
            "created_at": "2026-11-20T10:00:00Z", **fields}


def test_note_offers_only_web_addresses_as_the_aimdoc_link():
    good = render_note(transcript(session_url="https://app.aimdoc.ai/agents/a/conversations/c"))
    assert "<b>Open in Aimdoc:</b> https://app.aimdoc.ai/agents/a/conversations/c" in good.html
    bad = render_note(transcript(session_url="javascript:alert(1)"))
    assert "Open in Aimdoc" not in bad.html
    assert "<b>Aimdoc link (as sent):</b> javascript:alert(1)" in bad.html  # text, visible
    hostile_base = render_note(transcript(session_url="/agents/a/conversations/c"),
                               aimdoc_app_url="javascript:alert(1)//")
    assert "javascript" not in hostile_base.html
