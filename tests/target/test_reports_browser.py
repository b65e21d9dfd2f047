"""The run report and the CRM objects page in headless Chromium, at desktop and phone widths.

Screenshots (kept in the test's folder), the DOM as Chromium built it, and a check that at
phone width nothing is wider than the screen (the page, measured in a 390 px frame, reports
its scroll width to the frame's parent). Skipped where Debian's ``chromium`` is not installed
(``scripts/test.sh`` installs it).
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

from target_salesforce_aimdoc import crm_objects
from tests.target.singer import contact, run_target, target_config
from tests.target.test_notes import conversation, stream_text

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(apt-get install -y chromium; scripts/test.sh does)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
MEASURE = ('<script>addEventListener("load", () => parent.postMessage('
           '[document.documentElement.scrollWidth, document.documentElement.clientWidth]'
           '.join("/"), "*"))</script>')
FRAME = ('<!doctype html><html><body style="margin:0"><script>addEventListener("message", '
         'e => document.body.insertAdjacentHTML("beforeend", "<p id=measured>" + e.data + '
         '"</p>"))</script><iframe src="{src}" width="390" height="844" style="border:0">'
         "</iframe></body></html>")


def chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120, check=False)


def screenshot(page: Path, out: Path, size: tuple[int, int]) -> tuple[int, int]:
    """Screenshot ``page`` at ``size``; return the PNG's width and height."""
    result = chromium(f"--window-size={size[0]},{size[1]}", f"--screenshot={out}",
                      page.as_uri())
    assert out.exists(), result.stderr[-2000:]
    assert out.stat().st_size > 10_000  # a rendered page, not a blank one
    header = out.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def dom(page: Path, size: tuple[int, int]) -> str:
    result = chromium(f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=3000",
                      "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def phone_overflow(page: Path) -> tuple[int, int]:
    """(scroll width, screen width) of ``page`` in a 390 px wide frame."""
    measured = page.with_name(page.stem + "-measured.html")
    text = page.read_text(encoding="utf-8")
    measured.write_text(text.replace("</body>", MEASURE + "</body>") if "</body>" in text
                        else text + MEASURE, encoding="utf-8")
    frame = page.with_name(page.stem + "-frame.html")
    frame.write_text(FRAME.format(src=measured.name), encoding="utf-8")
    built = dom(frame, WIDTHS["desktop"])
    found = built.split('<p id="measured">', 1)[1].split("</p>", 1)[0]
    scroll, width = (int(part) for part in found.split("/"))
    return scroll, width


@pytest.fixture(scope="module")
def pages(make_salesforce_emulator, tmp_path_factory) -> dict[str, Path]:
    """A run report and a CRM objects page from a real run against the emulator."""
    emulator = make_salesforce_emulator
    emulator.reset(org="default")
    folder = tmp_path_factory.mktemp("pages")
    config = target_config(emulator, sync_contacts=True, sync_accounts=True,
                           pipeline_name="dev:tap-aimdoc-to-target-salesforce-aimdoc")
    people = [contact("c1", "jane.a-very-long-address-for-a-phone@acme-industries.example.com",
                      first_name="Jane", last_name="Doe", company="Acme Industries"),
              contact("c2", "bob@beta.io", first_name="Bob", last_name="Roe", company="Beta"),
              contact("c3", "not an email", first_name="Broken", last_name="Address"),
              contact("c4", "dq@acme.com", status="disqualified")]
    target = run_target(config, stream_text(people, [conversation("conv1", "c1", 3)]))
    report = (Path(config["report_dir"]) / "dev-tap-aimdoc-to-target-salesforce-aimdoc"
              / "run-report.html")
    state = folder / "state.json"
    state.write_text(json.dumps({"singer_state": target.states[-1]}), encoding="utf-8")
    config_path = folder / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    crm = folder / "crm.html"
    assert crm_objects.main(["--state", str(state), "--html", str(crm),
                             "--config", str(config_path)]) == 0
    return {"report": report, "crm": crm}


@pytest.mark.parametrize("width", WIDTHS)
def test_run_report_in_chromium(pages, width, tmp_path):
    size = WIDTHS[width]
    shot = tmp_path / f"report-{width}.png"
    assert screenshot(pages["report"], shot, size) == size
    built = dom(pages["report"], size)
    for text in ("Salesforce sync report", "Salesforce records", "Source records",
                 "Jane Doe", "bob@beta.io", "INVALID_EMAIL_ADDRESS", "whole record",
                 "filter:not_disqualified", "dev:tap-aimdoc-to-target-salesforce-aimdoc"):
        assert text in built, text
    assert built.count('/lightning/r/') >= 5


@pytest.mark.parametrize("width", WIDTHS)
def test_crm_objects_page_in_chromium(pages, width, tmp_path):
    size = WIDTHS[width]
    shot = tmp_path / f"crm-{width}.png"
    assert screenshot(pages["crm"], shot, size) == size
    built = dom(pages["crm"], size)
    for text in ("CRM objects", "Lead", "Contact", "Account", "Note", "Jane Doe",
                 "open in Salesforce", "Acme Industries"):
        assert text in built, text


@pytest.mark.parametrize("name", ["report", "crm"])
def test_nothing_overflows_at_phone_width(pages, name):
    scroll, width = phone_overflow(pages[name])
    assert 360 <= width <= 390  # less a vertical scrollbar
    assert scroll <= width, f"{name} is {scroll} px wide on a {width} px screen"
