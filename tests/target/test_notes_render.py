"""Note rendering: deterministic, inert for untrusted text, within Salesforce's size limits."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from aimdoc_emulators.salesforce.validation import note_content_is_valid
from target_salesforce_aimdoc.notes_render import (
    MIN_BUDGET,
    NOTE_BODY_LIMIT,
    RenderedNote,
    is_valid_note_html,
    note_title,
    render_note,
)

CONVERSATION_ID = "3f2b8c1e-aaaa-4bbb-8ccc-0123456789ab"
ALLOWED_TAGS = {"p", "/p", "b", "/b", "i", "/i", "u", "/u", "ul", "/ul", "ol", "/ol", "li",
                "/li", "br"}
CUT_SUFFIX = "(message cut to fit the note)"


def message(index, role="user", content=None, **extra):
    minute, second = divmod(index, 60)
    hour, minute = divmod(minute, 60)
    return {"id": f"m{index}", "role": role, "sender_name": None,
            "content": f"message number {index}" if content is None else content,
            "created_at": f"2024-05-0{1 + hour // 24}T{hour % 24:02d}:{minute:02d}:{second:02d}.000Z",
            **extra}


def transcript(messages=None, **overrides):
    record = {
        "conversation_id": CONVERSATION_ID, "agent_id": "agent-1", "agent_name": "Ava",
        "lead_id": "lead-1", "contact_id": "lead-1", "visitor_id": "visitor-1",
        "status": "ended", "escalated": True, "escalation_reason": "Asked for a human",
        "buyer_intent": True, "buyer_intent_reason": "Asked about pricing",
        "page_url": "https://acme.com/pricing", "referrer": "https://google.com/",
        "utm": {"source": "google", "medium": "cpc", "campaign": "spring"},
        "session_url": f"https://app.aimdoc.ai/agents/agent-1/conversations/{CONVERSATION_ID}",
        "created_at": "2024-05-01T14:30:45.123Z", "updated_at": "2024-05-01T15:02:00.000Z",
        "last_message_at": "2024-05-01T15:01:59.000Z",
        "messages": [message(0), message(1, "assistant"), message(2)] if messages is None
        else messages,
    }
    record["message_count"] = len(record["messages"] or [])
    record.update(overrides)
    return record


def assert_valid(note: RenderedNote):
    assert is_valid_note_html(note.html), note.html[:500]
    assert note_content_is_valid(note.html)
    for tag in re.findall(r"<([^>]*)>", note.html):
        assert tag in ALLOWED_TAGS, tag
    assert "None" not in note.html
    assert "None" not in note.text


def messages_section(html):
    return html.split("<p><b>Transcript</b></p>", 1)[1]


# -- determinism and the title ------------------------------------------------------------------

def test_same_input_renders_the_same_bytes():
    first, second = render_note(transcript()), render_note(transcript())
    assert first == second
    assert first.html.encode() == second.html.encode()
    assert first.digest == hashlib.sha256(first.html.encode("utf-8")).hexdigest()
    assert base64.b64decode(first.content_base64()) == first.html.encode("utf-8")


def test_key_order_of_the_record_does_not_matter():
    record = transcript()
    reordered = dict(reversed(list(record.items())))
    assert render_note(reordered) == render_note(record)


def test_digest_changes_when_a_message_is_added_but_the_title_does_not():
    before = transcript()
    after = transcript([*before["messages"], message(3, "human", sender_name="Sam")],
                       last_message_at="2024-05-02T09:00:00Z", updated_at="2024-05-02T09:00:00Z",
                       status="active")
    old, new = render_note(before), render_note(after)
    assert old.digest != new.digest
    assert old.title == new.title
    assert note_title(after) == new.title
    assert render_note(after, kind="note").title == new.title


def test_title_format():
    assert render_note(transcript()).title == (
        "Aimdoc conversation · Ava · 2024-05-01 · 0123456789ab")


def test_title_without_agent_or_date_and_with_a_short_id():
    record = {"conversation_id": "c-42", "messages": []}
    assert note_title(record) == "Aimdoc conversation · c-42"
    assert note_title({"id": "c-42", "messages": [message(0)]}) == (
        "Aimdoc conversation · 2024-05-01 · c-42")
    assert note_title(record, agent_label="Sales bot") == "Aimdoc conversation · Sales bot · c-42"


@pytest.mark.parametrize("agent", ["A" * 300, "😀" * 200, "Line\nbreak\tand\x07 bell " * 20])
def test_title_fits_80_characters_with_a_long_agent_name(agent):
    title = render_note(transcript(agent_name=agent), kind="note").title
    assert len(title.encode("utf-16-le")) // 2 <= 80
    assert title.startswith("Aimdoc conversation · ")
    assert title.endswith(" · 2024-05-01 · 0123456789ab")
    assert "…" in title
    assert not re.search(r"[\x00-\x1f]", title)


def test_missing_conversation_id_is_an_error():
    with pytest.raises(ValueError, match="conversation_id"):
        render_note({"messages": []})


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="budget"):
        render_note(transcript(), budget=MIN_BUDGET - 1)
    with pytest.raises(ValueError, match="kind"):
        render_note(transcript(), kind="task")


# -- untrusted text -----------------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(document.cookie)",
    "<p onclick='x()'>hi</p><br/><b style=x>",
    "</p></ul><li>&lt;&#60;&apos;&nbsp;",
    "<<script>script>alert(1)<</script>/script>",
    "<svg/onload=alert(1)>",
]


@pytest.mark.parametrize("payload", XSS)
def test_payloads_in_every_field_come_out_inert(payload):
    record = transcript(
        [message(0, content=payload), message(1, "human", content=payload, sender_name=payload)],
        agent_name=payload, status=payload, escalation_reason=payload,
        buyer_intent_reason=payload, page_url=payload, referrer=payload, session_url=payload,
        utm={"source": payload, "medium": payload, "campaign": payload},
        qualification=[{"question_id": "q", "question": payload, "answer": payload}],
    )
    for kind in ("content_note", "note"):
        note = render_note(record, kind=kind)
        assert_valid(note)
        assert payload in note.text  # visible as text in the plain body
    html = render_note(record).html
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert "<svg" not in html and not re.search(r"<[^>]*=", html)
    escaped = (payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
               .replace('"', "&quot;").replace("'", "&#39;"))
    assert escaped in html  # the visitor's text is shown, not interpreted


def test_entities_typed_by_the_visitor_stay_visible():
    html = render_note(transcript([message(0, content="Tom &amp; Jerry's \"<3\" &apos;")])).html
    assert "Tom &amp;amp; Jerry&#39;s &quot;&lt;3&quot; &amp;apos;" in html
    assert "&apos;" not in html.replace("&amp;apos;", "")


def test_unicode_survives_byte_exact_as_raw_utf8():
    text = "Hi 😀 👩‍👩‍👧‍👦 🇯🇵 中文对话 مرحبا بالعالم Ünïcödé ẞ"
    note = render_note(transcript([message(0, content=text)]))
    assert_valid(note)
    assert text.encode("utf-8") in note.html.encode("utf-8")
    assert text.encode("utf-8") in base64.b64decode(note.content_base64())
    assert "&#" not in note.html.replace("&#39;", "")
    assert text in render_note(transcript([message(0, content=text)]), kind="note").text


def test_control_characters_are_dropped_newlines_become_br_and_tabs_spaces():
    raw = "a\x00b\x07c\x1bd\x7fe\x9ff\ud800g\r\nh\ri\nj\tk\x0bl\x0cm\u2028n"
    note = render_note(transcript([message(0, content=raw)]))
    assert_valid(note)
    assert "abcdefg<br>h<br>i<br>j klm<br>n" in note.html
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", note.html)
    note.html.encode("utf-8")  # no lone surrogate left
    text = render_note(transcript([message(0, content=raw)]), kind="note").text
    assert "abcdefg\nh\ni\nj klm\nn" in text
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)


# -- size limits ---------------------------------------------------------------------------------

def big_transcript(count=5_000, content="Some visitor question about pricing and plans. " * 3):
    return transcript([message(i, ("user", "assistant")[i % 2], f"#{i}: {content}")
                       for i in range(count)])


@pytest.mark.parametrize("budget", [100_000, MIN_BUDGET, 250_000])
def test_5000_messages_are_cut_to_the_budget_keeping_the_newest(budget):
    note = render_note(big_transcript(), budget=budget)
    assert_valid(note)
    size = len(note.html.encode("utf-8"))
    assert size <= budget
    assert size > budget - 1_000  # filled, not cut more than needed
    assert 0 < note.truncated < 5_000
    marker = (f"<p><i>… {note.truncated:,} earlier messages not shown "
              "(conversation has 5,000 messages)</i></p>")
    assert messages_section(note.html).startswith(marker)
    assert "#4999: " in note.html  # newest kept
    assert f"#{note.truncated}: " in note.html  # oldest kept is right after the cut
    assert f"#{note.truncated - 1}: " not in note.html
    assert "#0: " not in note.html
    assert note.html.index(f"#{note.truncated}: ") < note.html.index("#4999: ")
    assert "<b>Messages:</b> 5,000" in note.html  # header kept


def test_classic_note_body_fits_32000_characters():
    for content in ("plain ascii text " * 5, "😀 emoji counts twice in UTF-16 " * 5):
        note = render_note(big_transcript(content=content), kind="note")
        assert len(note.text.encode("utf-16-le")) // 2 <= NOTE_BODY_LIMIT
        assert len(note.text) > NOTE_BODY_LIMIT - 2_000
        assert len(note.title) <= 80
        assert f"… {note.truncated:,} earlier messages not shown (conversation has 5,000" \
               in note.text
        assert "#4999: " in note.text
        assert f"#{note.truncated - 1}: " not in note.text
        assert_valid(note)  # the HTML form renders the same messages
        assert f"#{note.truncated - 1}: " not in note.html


def test_under_the_limit_nothing_is_cut():
    note = render_note(big_transcript(50))
    assert note.truncated == 0
    assert "earlier message" not in note.html
    assert "#0: " in note.html


def test_singular_marker():
    record = big_transcript(2, content="x" * 60_000)
    note = render_note(record)
    assert note.truncated == 1
    assert "… 1 earlier message not shown (conversation has 2 messages)" in note.html


@pytest.mark.parametrize("budget", range(MIN_BUDGET, MIN_BUDGET + 12))
@pytest.mark.parametrize("unit", ["é😀中", "&<>\"'", "a\nb", "👩‍👩‍👧"])
def test_a_huge_single_message_is_cut_at_a_character_boundary(budget, unit):
    content = unit * 40_000
    note = render_note(transcript([message(0, content="older"), message(1, content=content)]),
                       budget=budget)
    assert_valid(note)
    data = note.html.encode("utf-8")
    assert len(data) <= budget
    assert len(data) > budget - 7  # cut at the last whole character that fits
    data.decode("utf-8")
    assert note.truncated == 1
    assert "… 1 earlier message not shown (conversation has 2 messages)" in note.html
    kept = note.text.split("\n\n")[-1].split("\n", 1)[1]
    assert kept.endswith(f" … {CUT_SUFFIX}")
    prefix = kept.removesuffix(f" … {CUT_SUFFIX}")
    assert prefix and content.startswith(prefix)
    assert not prefix.endswith("\u200d")


def test_a_huge_single_message_in_a_classic_note_keeps_surrogate_pairs_whole():
    content = "a" + "😀" * 40_000
    note = render_note(transcript([message(0, content=content)]), kind="note")
    units = len(note.text.encode("utf-16-le")) // 2
    assert NOTE_BODY_LIMIT - 2 <= units <= NOTE_BODY_LIMIT
    assert note.truncated == 0
    assert note.text.endswith(CUT_SUFFIX)
    note.text.encode("utf-8")


def test_long_qualification_and_header_values_are_capped():
    answers = [{"question_id": f"q{i}", "question": f"Question {i}?", "answer": "y" * 5_000}
               for i in range(200)]
    note = render_note(transcript(page_url="https://acme.com/" + "p" * 5_000),
                       qualification=answers, budget=MIN_BUDGET)
    assert_valid(note)
    assert len(note.html.encode("utf-8")) <= MIN_BUDGET
    assert "y" * 501 not in note.html
    assert "p" * 401 not in note.html
    assert "more answers not shown" in note.html
    assert "message number 2" in note.html


# -- content ------------------------------------------------------------------------------------

def test_speaker_labels_per_role():
    record = transcript([
        message(0, "user"), message(1, "assistant"), message(2, "human", sender_name="Sam Rep"),
        message(3, "human"), message(4, "system"), message(5, "tool"), message(6, None),
    ])
    html = render_note(record).html
    labels = re.findall(r"<p><b>([^<]*)</b> · 2024-05-01 00:00 UTC<br>message number", html)
    assert labels == [
        "Visitor", "Ava", "Sam Rep", "Sales rep", "System", "Tool", "Unknown"]
    assert "<p><b>AI agent</b> · " in render_note(transcript(agent_name=None)).html
    assert "<p><b>Bot</b> · " in render_note(record, agent_label="Bot").html
    text = render_note(record, kind="note").text
    assert "Sam Rep · 2024-05-01 00:00 UTC\nmessage number 2" in text


def test_header_layout_and_section_order():
    note = render_note(transcript(), qualification=[
        {"question_id": "q1", "question": "Team size?", "answer": "50"}])
    html = note.html
    assert html.startswith(
        "<p><b>Aimdoc conversation</b><br><b>Agent:</b> Ava"
        f"<br><b>Conversation ID:</b> {CONVERSATION_ID}"
        "<br><b>Started:</b> 2024-05-01 14:30 UTC<br><b>Last activity:</b> 2024-05-01 15:01 UTC"
        "<br><b>Status:</b> ended<br><b>Escalated:</b> yes — Asked for a human"
        "<br><b>Buyer intent:</b> yes — Asked about pricing"
        "<br><b>Page:</b> https://acme.com/pricing<br><b>Referrer:</b> https://google.com/"
        "<br><b>UTM:</b> source=google, medium=cpc, campaign=spring"
        f"<br><b>Open in Aimdoc:</b> https://app.aimdoc.ai/agents/agent-1/conversations/"
        f"{CONVERSATION_ID}<br><b>Messages:</b> 3</p>")
    assert html.index("Qualification") < html.index("Transcript") < html.index("message number 0")
    assert "<p><b>Visitor</b> · 2024-05-01 00:00 UTC<br>message number 0</p>" in html
    assert note.text.startswith("Aimdoc conversation\nAgent: Ava\n")


def test_times_are_converted_to_utc():
    html = render_note(transcript([message(0, created_at="2024-05-01T16:45:00+02:00")],
                                  created_at="2024-05-01T10:00:00-05:00")).html
    assert "<b>Started:</b> 2024-05-01 15:00 UTC" in html
    assert "<p><b>Visitor</b> · 2024-05-01 14:45 UTC" in html


def test_aimdoc_link_from_the_app_url_when_session_url_is_missing():
    app = "https://app.aimdoc.ai/"
    html = render_note(transcript(session_url=None), aimdoc_app_url=app).html
    assert f"https://app.aimdoc.ai/agents/agent-1/conversations/{CONVERSATION_ID}<br>" in html
    html = render_note(transcript(session_url="/agents/a/conversations/c"),
                       aimdoc_app_url=app).html
    assert "<b>Open in Aimdoc:</b> https://app.aimdoc.ai/agents/a/conversations/c<br>" in html
    assert "Open in Aimdoc" not in render_note(transcript(session_url=None)).html


def test_messages_keep_their_input_order():
    record = transcript([message(5, content="later first"), message(1, content="earlier second")])
    html = render_note(record).html
    assert html.index("later first") < html.index("earlier second")


def test_qualification_from_the_record_or_the_caller():
    own = [{"question_id": "q1", "question": "Budget?", "answer": "$10k & up"},
           {"question_id": "q2", "question": "", "answer": ["Sales", "Support"]},
           {"question_id": "q3", "question": "Urgent?", "answer": True},
           {"question_id": "q4", "question": "Notes", "answer": None}, "junk"]
    html = render_note(transcript(qualification=own)).html
    assert ("<p><b>Qualification</b></p><ul><li><b>Budget?:</b> $10k &amp; up</li>"
            "<li><b>q2:</b> Sales, Support</li><li><b>Urgent?:</b> yes</li>"
            "<li><b>Notes:</b> (no answer)</li></ul>") in html
    given = [{"question_id": "x", "question": "Role?", "answer": "CTO"}]
    html = render_note(transcript(qualification=own), qualification=given).html
    assert "<li><b>Role?:</b> CTO</li></ul>" in html and "Budget?" not in html
    assert "Qualification" not in render_note(transcript(qualification=own),
                                              qualification=[]).html
    text = render_note(transcript(), qualification=given, kind="note").text
    assert "Qualification\n- Role?: CTO\n" in text


@pytest.mark.parametrize("record", [
    {"conversation_id": "c1"},
    {"conversation_id": "c1", "messages": None, "utm": None, "escalated": None,
     "buyer_intent": None, "agent_name": None, "created_at": None, "status": None},
    {"conversation_id": "c1", "messages": [{}, {"role": "user"}, "junk",
                                           {"role": "human", "content": None,
                                            "created_at": "not a date"}],
     "utm": {"source": None}, "created_at": "garbage", "qualification": None},
])
def test_missing_optional_fields_do_not_crash_or_print_none(record):
    for kind in ("content_note", "note"):
        note = render_note(record, kind=kind)
        assert_valid(note)
        assert "null" not in note.html
    note = render_note(record)
    assert note.title == "Aimdoc conversation · c1"
    assert "Escalated" not in note.html and "UTM" not in note.html


def test_empty_conversation_says_so():
    note = render_note(transcript([]))
    assert note.html.endswith("<p><b>Transcript</b></p><p><i>No messages.</i></p>")
    assert "<b>Messages:</b> 0" in note.html


# -- the validator ------------------------------------------------------------------------------

@pytest.mark.parametrize("html", [
    "<p>plain</p>", "a<br>b<br/>c<br />d", "<ul><li><b>x</b> <i>y</i> <u>z</u></li></ul><ol></ol>",
    "&amp; &lt; &gt; &quot; &#39; &#60; &#x3C;", "😀 中文 مرحبا", "",
])
def test_validator_accepts_allowed_content(html):
    assert is_valid_note_html(html)


@pytest.mark.parametrize("html", [
    "<script>x</script>", '<a href="x">y</a>', '<p class="x">y</p>', "<img src=x>",
    "<div>x</div>", "&apos;", "&nbsp;", "Tom & Jerry", "it's", 'say "hi"', "1 < 2", "2 > 1",
    "line\nbreak", "tab\there", "bell\x07", "del\x7f", "&#233;", "&#x1F600;", "&#0;", "&amp",
    "<P>upper</P>", "&am<b>p;",
])
def test_validator_rejects_forbidden_content(html):
    assert not is_valid_note_html(html)
