"""Note rendering's one-pass shortcuts agree with the per-value functions they stand for."""

from __future__ import annotations

import random

import pytest

from target_salesforce_aimdoc import notes_render as nr
from tests.target.test_notes_render import assert_valid, message, transcript

ATOMS = ["a", "Z", " ", "é", "中", "😀", "👩\u200d💻", "\u200d", "<", ">", "&", '"', "'", "\n",
         "\r", "\r\n", "\t", "\x00", "\x01", "\x02", "\x03", "\x1f", "\x7f", "\x85", "\x9f",
         "\u2028", "\u2029", "\ud800", "\udfff", "\ufeff", "&amp;", "<b>", "٣", "x" * 40]
STAMPS = ["2026-03-02T02:09:05.775Z", "2026-03-02T02:09Z", "2026-03-02T02:09:05+00:00",
          "2026-03-02T02:09:05-0000", "2026-13-45T00:00Z", "٢٠٢٦-03-02T02:09Z",
          "2026-03-02 02:09:05", "2026-03-02T02:09:05+05:30", "2026-03-02T02:09Z\n2026-03-02T02:09Z",
          "2026-03-02T02:09:05.1234567Z", "", " ", "garbage", None, 12, 1.5]


def text(rnd: random.Random, most: int = 12) -> str:
    return "".join(rnd.choice(ATOMS) for _ in range(rnd.randint(0, most)))


def values(rnd: random.Random, size: int) -> list:
    pool = [None, 7, 2.5, True, ["x"], {"k": "<v>"}]
    return [rnd.choice(pool) if rnd.random() < 0.1 else text(rnd) for _ in range(size)]


@pytest.mark.parametrize("seed", range(300))
def test_batched_helpers_match_the_one_value_functions(seed):
    rnd = random.Random(seed)
    size = rnd.choice([0, 1, 2, 5, 30])
    raw = values(rnd, size)
    assert nr._clean_many(raw) == [nr.clean_text(value) for value in raw]
    stamps = [rnd.choice(STAMPS) if rnd.random() < 0.3 else STAMPS[0] for _ in range(size)]
    assert nr._utc_many(stamps) == [nr._utc(value) for value in stamps]


@pytest.mark.parametrize("seed", range(300))
def test_transcript_html_in_one_pass_matches_the_blocks(seed):
    rnd = random.Random(seed)
    size = rnd.choice([0, 1, 3, 20])
    speakers = [nr._line(text(rnd, 4)) or "Visitor" for _ in range(size)]
    times = nr._utc_many([rnd.choice(STAMPS) for _ in range(size)])
    contents = nr._clean_many([text(rnd) for _ in range(size)])
    for html in (True, False):
        joined = "".join(nr._blocks(speakers, times, contents, html))
        assert nr._transcript(speakers, times, contents, html) == joined
    assert nr.is_valid_note_html(nr._transcript(speakers, times, contents, True))


@pytest.mark.parametrize("seed", range(8))
def test_the_cut_is_least_and_steady_around_the_budget(seed):
    """Near the budget the cut grows as the budget shrinks, and the note always fits."""
    rnd = random.Random(seed)
    record = transcript([message(i, rnd.choice(["user", "assistant"]), content=text(rnd, 400))
                         for i in range(200)])
    full = len(nr.render_note(record, budget=10**6).html.encode("utf-8"))
    budgets = sorted({max(nr.MIN_BUDGET, full + delta) for delta in range(-240, 240, 16)})
    previous = None
    for budget in budgets:
        note = nr.render_note(record, budget=budget)
        assert_valid(note)
        assert len(note.html.encode("utf-8")) <= budget
        if previous is not None:
            assert note.truncated <= previous
        previous = note.truncated
    assert previous == 0
