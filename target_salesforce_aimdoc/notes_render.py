"""Render an Aimdoc transcript as a Salesforce note: pure, deterministic, no HTTP.

The ContentNote HTML follows the content rules of spec §4.2: ``< > " ' &`` escaped (``&#39;``
for ``'``), newlines as ``<br>``, non-ASCII as raw UTF-8, no control characters, only the simple
tags ``<p> <b> <i> <u> <ul> <ol> <li> <br>``. The classic Note body is plain text. Over the size
limit the oldest messages are cut (with a marker); a single message that still does not fit is
cut at a character boundary.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal
from urllib.parse import quote

from target_salesforce_aimdoc.safe_html import safe_url

TITLE_LIMIT = 80  # classic Note Title; used for both kinds so the title is one stable key
NOTE_BODY_LIMIT = 32_000  # classic Note Body, counted in UTF-16 units to be safe
MIN_BUDGET = 32_000  # the capped header and qualification always leave room for messages
ELLIPSIS = "…"
MESSAGE_CUT = f" {ELLIPSIS} (message cut to fit the note)"
_FIELD_CAP, _URL_CAP, _NAME_CAP = 200, 400, 100
_QUESTION_CAP, _ANSWER_CAP, _MAX_ANSWERS = 200, 500, 100
_SHORT_ID = 12
_UTM_KEYS = ("source", "medium", "campaign")
_TAG = re.compile(r"<[^<>]*>")
_BR = "\x03"  # stands for <br> in a transcript's skeleton (see _transcript)

_NEWLINES = re.compile(r"\r\n?|[\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNCLEAN = re.compile(r"[\r\t\x85\u2028\u2029\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_TO_ESCAPE = re.compile(r"[&<>\"'\n]")
_STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?(?:Z|[+-]00:?00)"  # the tap's form
_CANONICAL = re.compile(rf"{_STAMP}\Z")
_CANONICAL_LINES = re.compile(rf"(?:{_STAMP}\n)*{_STAMP}\Z")
_TOKEN = re.compile(r"</?(?:p|b|i|u|ul|ol|li|br)>|<br ?/>|&(?:amp|lt|gt|quot|#39);"
                    r"|&#(\d{1,7});|&#[xX]([0-9a-fA-F]{1,6});")


@dataclass(frozen=True)
class RenderedNote:
    """One conversation's note, ready for ContentNote (``html``) or classic Note (``text``).

    The form the note is written in is rendered at once; the other one when first read.
    """

    title: str
    truncated: int
    _html: Callable[[], str] = field(repr=False, compare=False)
    _text: Callable[[], str] = field(repr=False, compare=False)

    @cached_property
    def html(self) -> str:
        """The ContentNote body (HTML)."""
        return self._html()

    @cached_property
    def text(self) -> str:
        """The classic Note body (plain text)."""
        return self._text()

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the HTML: what changes when the note must be rewritten."""
        return hashlib.sha256(self.html.encode("utf-8")).hexdigest()

    def without_content(self) -> RenderedNote:
        """The same note keeping its title and digest only (its writes are done)."""
        settled = replace(self, _html=_released, _text=_released)
        settled.__dict__["digest"] = self.digest
        return settled

    def content_base64(self) -> str:
        """ContentNote ``Content``: base64 of the UTF-8 HTML."""
        return base64.b64encode(self.html.encode("utf-8")).decode("ascii")

    def stored_as(self, size: Any, preview: Any) -> bool:
        """Whether a ContentNote's ``ContentSize`` and ``TextPreview`` show this very note.

        What Salesforce keeps about a note's content, read with the note itself: its size in
        bytes must be this HTML's, and its preview (the first 255 characters of its text) must
        begin this note's text (compared without spacing, which Salesforce may lay out its
        own way). Anything else (a missing field, a size off by one byte) reads as changed,
        so the note is written again: a wrong "changed" costs one write, never a stale note.
        """
        if type(size) is not int or size != len(self.html.encode("utf-8")):
            return False
        if not isinstance(preview, str):
            return False
        stored = _spaceless(html_lib.unescape(preview)).removesuffix(ELLIPSIS)
        return bool(stored) and _spaceless(note_plain_text(self.html[:8000])).startswith(stored)


def _released() -> str:
    raise RuntimeError("the note's content was released once its writes were done")


def note_plain_text(html: str) -> str:
    """A note's HTML as plain text: each tag a space, entities decoded (as ``TextPreview``)."""
    return html_lib.unescape(_TAG.sub(" ", html))


def _spaceless(text: str) -> str:
    return "".join(text.split())


def is_valid_note_html(html: str) -> bool:
    """True when ``html`` obeys the ContentNote content rules (spec §4.2).

    Allowed: the simple tags without attributes (lowercase; ``<br/>`` too), the entities
    ``&amp; &lt; &gt; &quot; &#39;`` and numeric entities of printable ASCII. Rejected: any
    other tag or entity (``&apos;``, ``&nbsp;``), bare ``< > " ' &``, control characters
    (newlines included: they must be ``<br>``) and unpaired surrogates.
    """
    if not isinstance(html, str) or _ANY_CONTROL.search(html):
        return False

    def strip(match: re.Match[str]) -> str:
        number = match.group(1) or match.group(2)
        if number is None:
            return ""
        code = int(number, 10 if match.group(1) else 16)
        return "" if 32 <= code <= 126 else "&"  # non-ASCII must be raw UTF-8

    bare = _TOKEN.sub(strip, html)
    return not any(char in bare for char in "<>&\"'")


def clean_text(value: Any) -> str:
    """Untrusted text made safe to escape: newlines normalised, tabs -> space, no controls."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not _UNCLEAN.search(text):  # the common case: nothing to change
        return text
    return _CONTROL.sub("", _NEWLINES.sub("\n", text).replace("\t", " "))


def _clean_many(values: list[Any]) -> list[str]:
    """``[clean_text(value) for value in values]``, checked in one pass in the common case."""
    texts = ["" if value is None else value for value in values]
    try:
        joined = "".join(texts)
    except TypeError:  # not all text
        return [clean_text(value) for value in values]
    return [clean_text(value) for value in values] if _UNCLEAN.search(joined) else texts


def note_title(transcript: Mapping[str, Any], *, agent_label: str | None = None) -> str:
    """The note's deterministic title (≤ 80 characters, stable as the conversation grows).

    ``Aimdoc conversation · <agent> · <started YYYY-MM-DD> · <short id>``; the agent and date
    parts are left out when unknown. The short id is the conversation id's last 12 characters.
    """
    conversation_id = _line(transcript.get("conversation_id") or transcript.get("id"))
    if not conversation_id:
        raise ValueError("transcript has no conversation_id")
    started = _moment(transcript.get("created_at")) or _moment(_first_message_time(transcript))
    tail = [started.strftime("%Y-%m-%d")] if started else []
    tail.append(conversation_id[-_SHORT_ID:])
    head, sep = "Aimdoc conversation", " · "
    agent = _line(agent_label or transcript.get("agent_name"))
    if agent:
        room = TITLE_LIMIT - _units(sep.join([head, "", *tail]))
        agent = _clip_plain(agent, room)
    return sep.join([head, *([agent] if agent else []), *tail])


def render_note(transcript: Mapping[str, Any], *, qualification: list[dict] | None = None,
                kind: Literal["content_note", "note"] = "content_note",
                budget: int = 100_000, agent_label: str | None = None,
                aimdoc_app_url: str | None = None) -> RenderedNote:
    """Render ``transcript`` (a ``transcripts`` stream record) as a note.

    ``qualification`` (``[{question_id, question, answer}]``) wins over the record's own.
    ``kind`` picks the limit the content is fitted to: ``budget`` UTF-8 bytes of ``html`` for
    ``content_note``, 32,000 characters of ``text`` for ``note``; the other form renders the
    same messages. ``agent_label`` overrides the agent's name (title, header, speaker).
    ``aimdoc_app_url`` builds the Aimdoc link when the record has no ``session_url``.
    """
    if kind not in ("content_note", "note"):
        raise ValueError(f"unknown note kind {kind!r}")
    if kind == "content_note" and budget < MIN_BUDGET:
        raise ValueError(f"budget must be at least {MIN_BUDGET:,} bytes")
    primary, limit = (True, budget) if kind == "content_note" else (False, NOTE_BODY_LIMIT)
    title = note_title(transcript, agent_label=agent_label)
    raw = transcript.get("messages")
    messages = ([m for m in raw if type(m) is dict or isinstance(m, Mapping)]  # dict: no ABC check
                if isinstance(raw, list) else [])
    agent = _clip(_line(agent_label or transcript.get("agent_name")), _NAME_CAP)
    header = _header(transcript, messages, agent, aimdoc_app_url)
    answers = _answers(transcript.get("qualification") if qualification is None
                       else qualification)
    answers, hidden = _fit_answers(answers, limit // 4, primary)
    speakers = [_speaker(m, agent or "AI agent") for m in messages]
    times = _utc_many([m.get("created_at") for m in messages])
    contents = _clean_many([m.get("content") for m in messages])
    total = len(messages)

    def fixed(html: bool) -> str:
        return (_header_part(header, html) + _answers_part(answers, hidden, html)
                + ("<p><b>Transcript</b></p>" if html else "Transcript\n\n"))

    head = fixed(primary)
    used = _size(head, primary)
    part = _transcript(speakers, times, contents, primary)
    cut = 0  # all messages and even the longest marker fit: nothing to measure one by one
    if used + _size(part, primary) + _marker_size(total, total, primary) > limit:
        cut = _fit_messages(speakers, times, contents, limit - used, primary)
        part = _transcript(speakers[cut:], times[cut:], contents[cut:], primary)

    def body(html: bool) -> str:
        start, shown = (head, part) if html == primary else (
            fixed(html), _transcript(speakers[cut:], times[cut:], contents[cut:], html))
        marker = _marker(cut, total, html) if cut else ""
        empty = ("<p><i>No messages.</i></p>" if html else "No messages.\n") if not total else ""
        return start + marker + shown + empty

    note = RenderedNote(title=title, truncated=cut, _html=lambda: body(True),
                        _text=lambda: body(False).rstrip("\n"))
    _ = note.html if primary else note.text  # the form that is written, rendered now
    return note


def _fit_messages(speakers: list[str], times: list[str], contents: list[str], room: int,
                  html: bool) -> int:
    """How many of the oldest messages to leave out so the rest and the marker fit ``room``.

    Keeps the newest messages while they fit. When even the newest does not, the older ones
    are all cut and the newest one's content (in ``contents``) is cut inside to fit.
    """
    total = len(speakers)
    sizes = [_size(block, html) for block in _blocks(speakers, times, contents, html)]
    most = _marker_size(total, total, html)  # no marker is longer
    used = kept = 0
    for step in reversed(sizes):
        cut = total - kept - 1
        near = cut and used + step + most > room  # near the limit: the exact marker decides
        if used + step + (_marker_size(cut, total, html) if near else 0) > room:
            break
        used, kept = used + step, kept + 1
    if kept or not total:
        return total - kept
    newest = total - 1  # the newest message alone is too long: cut inside it
    cut_block = _blocks([speakers[newest]], [times[newest]], [MESSAGE_CUT], html)[0]
    room -= _size(cut_block, html) + (_marker_size(newest, total, html) if newest else 0)
    contents[newest] = _fit_chars(contents[newest], room, html) + MESSAGE_CUT
    return newest


def _header(transcript: Mapping[str, Any], messages: list[Mapping[str, Any]], agent: str,
            app_url: str | None) -> list[tuple[str, str]]:
    """The session context as (label, text) lines; unknown values are left out."""
    get = transcript.get
    last_time = messages[-1].get("created_at") if messages else None
    utm = get("utm") if isinstance(get("utm"), Mapping) else {}
    (conversation_id, link, status, page, referrer, escalation, intent,
     *utm_values) = _clean_many([
        get("conversation_id") or get("id"), get("session_url"), get("status"),
        get("page_url"), get("referrer"), get("escalation_reason"),
        get("buyer_intent_reason"), *(utm.get(key) for key in _UTM_KEYS)])
    if app_url and not safe_url(app_url):
        app_url = None  # not a web address: no link is built on it
    if app_url and link.startswith("/"):
        link = app_url.rstrip("/") + link
    elif app_url and not link and get("agent_id"):  # ids are untrusted text: path-quoted
        agent_part, conversation_part = (quote(clean_text(get("agent_id")), safe=""),
                                         quote(conversation_id, safe=""))
        link = f"{app_url.rstrip('/')}/agents/{agent_part}/conversations/{conversation_part}"
    # Only a web address (https, http to localhost) is offered as the link; other text is kept
    # visible under another label, escaped like every value.
    link_label = "Open in Aimdoc" if not link or safe_url(link) else "Aimdoc link (as sent)"
    utm_text = ", ".join([f"{key}={_clip(value, _FIELD_CAP)}"
                          for key, value in zip(_UTM_KEYS, utm_values, strict=True)
                          if value.strip()])
    lines = [
        ("Agent", agent),
        ("Conversation ID", _clip(conversation_id, _FIELD_CAP)),
        ("Started", _utc(get("created_at")) or _utc(_first_message_time(transcript))),
        ("Last activity", _utc(get("last_message_at")) or _utc(get("updated_at"))
         or _utc(last_time)),
        ("Status", _clip(status, _FIELD_CAP)),
        ("Escalated", _flag(get("escalated"), escalation)),
        ("Buyer intent", _flag(get("buyer_intent"), intent)),
        ("Page", _clip(page, _URL_CAP)),
        ("Referrer", _clip(referrer, _URL_CAP)),
        ("UTM", utm_text),
        (link_label, _clip(link, _URL_CAP)),
        ("Messages", f"{len(messages):,}"),
    ]
    return [(label, value) for label, value in lines if value.strip()]


def _header_part(lines: list[tuple[str, str]], html: bool) -> str:
    if html:
        rows = "".join(f"<br><b>{label}:</b> {_esc(value)}" for label, value in lines)
        return f"<p><b>Aimdoc conversation</b>{rows}</p>"
    return "Aimdoc conversation\n" + "".join(f"{k}: {v}\n" for k, v in lines) + "\n"


def _answers(items: Any) -> list[tuple[str, str]]:
    """Qualification as (question, answer) pairs, each capped."""
    if not isinstance(items, list):
        return []
    pairs = []
    for item in items[:_MAX_ANSWERS]:
        if not isinstance(item, Mapping):
            continue
        question = clean_text(item.get("question")) or clean_text(item.get("question_id"))
        answer = _answer_text(item.get("answer"))
        if question.strip() or answer.strip():
            pairs.append((_clip(question or "Question", _QUESTION_CAP),
                          _clip(answer or "(no answer)", _ANSWER_CAP)))
    return pairs


def _answer_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_answer_text(v) for v in value if v is not None)
    if isinstance(value, Mapping):
        return clean_text(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))
    return clean_text(value)


def _fit_answers(pairs: list[tuple[str, str]], room: int,
                 html: bool) -> tuple[list[tuple[str, str]], int]:
    """As many answers (in order) as fit in ``room``; the count of the rest."""
    for count in range(len(pairs), -1, -1):
        if _size(_answers_part(pairs[:count], len(pairs) - count, html), html) <= room:
            return pairs[:count], len(pairs) - count
    return [], len(pairs)


def _answers_part(pairs: list[tuple[str, str]], hidden: int, html: bool) -> str:
    if not pairs and not hidden:
        return ""
    more = f"{ELLIPSIS} {hidden:,} more answers not shown" if hidden else ""
    if html:
        rows = "".join(f"<li><b>{_esc(q)}:</b> {_esc(a)}</li>" for q, a in pairs)
        rows += f"<li><i>{more}</i></li>" if more else ""
        return f"<p><b>Qualification</b></p><ul>{rows}</ul>"
    rows = "".join(f"- {q}: {a}\n" for q, a in pairs) + (f"{more}\n" if more else "")
    return f"Qualification\n{rows}\n"


def _speaker(message: Mapping[str, Any], agent: str) -> str:
    role = message.get("role")
    if role == "user":  # the common roles, as the tap sends them
        return "Visitor"
    if role == "assistant":
        return agent
    role = _line(role).lower()
    if role == "user":
        return "Visitor"
    if role == "assistant":
        return agent
    if role == "human":
        return _clip(_line(message.get("sender_name")), _NAME_CAP) or "Sales rep"
    if role == "system":
        return "System"
    return _clip(role.capitalize(), _NAME_CAP) or "Unknown"


def _blocks(speakers: list[str], times: list[str], contents: list[str],
            html: bool) -> list[str]:
    """The messages' blocks, one per message, in the form ``html`` picks."""
    if html:
        names = {speaker: _esc(speaker) for speaker in set(speakers)}  # a few distinct ones
        return [f"<p><b>{names[speaker]}</b>{' · ' if time else ''}{time}"
                f"{'<br>' if content else ''}{content}</p>"
                for speaker, time, content in zip(speakers, times, map(_esc, contents),
                                                  strict=True)]
    return [f"{speaker}{' · ' if time else ''}{time}\n" + (f"{content}\n" if content else "") + "\n"
            for speaker, time, content in zip(speakers, times, contents, strict=True)]


def _transcript(speakers: list[str], times: list[str], contents: list[str],
                html: bool) -> str:
    """``"".join(_blocks(...))``; in HTML, the whole transcript is escaped at once.

    Cleaned text holds no control characters, so U+0001 to U+0003 can stand for the markup
    while the speakers and contents are escaped together.
    """
    if not html:
        return "".join(_blocks(speakers, times, contents, html))
    if not speakers:
        return ""
    skeleton = "\x01".join([f"{speaker}\x02{' · ' if time else ''}{time}"
                             f"{_BR if content else ''}{content}"
                             for speaker, time, content in zip(speakers, times, contents,
                                                               strict=True)])
    html_text = (_esc(skeleton).replace("\x01", "</p><p><b>").replace("\x02", "</b>")
                 .replace(_BR, "<br>"))
    return f"<p><b>{html_text}</p>"


def _marker(cut: int, total: int, html: bool) -> str:
    noun = "message" if cut == 1 else "messages"
    text = (f"{ELLIPSIS} {cut:,} earlier {noun} not shown "
            f"(conversation has {total:,} messages)")
    return f"<p><i>{text}</i></p>" if html else f"{text}\n\n"


def _marker_size(cut: int, total: int, html: bool) -> int:
    return _size(_marker(cut, total, html), html)


def _flag(value: Any, reason: str) -> str:
    """A yes/no flag with its (cleaned) reason."""
    reason_text = _clip(reason, _FIELD_CAP).strip()
    if isinstance(value, str):
        value = value.strip().lower() in ("true", "1", "yes") if value.strip() else None
    if value is None and not reason_text:
        return ""
    answer = "yes" if value or (value is None and reason_text) else "no"
    return f"{answer} — {reason_text}" if reason_text else answer


def _fit_chars(text: str, room: int, html: bool) -> str:
    """The longest prefix of ``text`` whose rendered size fits ``room`` (whole characters)."""
    used = 0
    for index, char in enumerate(text):
        used += _size(_esc(char) if html else char, html)
        if used > room:
            return text[:index].rstrip("\u200d")  # no dangling zero-width joiner
    return text


def _clip(text: str, cap: int) -> str:
    return text if len(text) <= cap else text[:cap].rstrip("\u200d") + ELLIPSIS


def _clip_plain(text: str, room: int) -> str:
    """``text`` cut to ``room`` UTF-16 units, with an ellipsis when cut."""
    if _units(text) <= room:
        return text
    return _fit_chars(text, room - 1, html=False).rstrip() + ELLIPSIS


def _line(value: Any) -> str:
    """A value as one trimmed line (whitespace collapsed)."""
    return " ".join(clean_text(value).split())


def _esc(text: str) -> str:
    if not _TO_ESCAPE.search(text):
        return text
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;").replace("\n", "<br>"))


def _size(text: str, html: bool) -> int:
    if not html:
        return _units(text)
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _units(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _first_message_time(transcript: Mapping[str, Any]) -> Any:
    messages = transcript.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], Mapping):
        return messages[0].get("created_at")
    return None


def _moment(value: Any) -> datetime | None:
    """A UTC datetime from ISO-8601 text or a datetime; None when absent or unreadable."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _utc_many(values: list[Any]) -> list[str]:
    """``[_utc(value) for value in values]``; one match checks them all in the common case."""
    try:
        joined = "\n".join(values)
    except TypeError:  # not all text
        return [_utc(value) for value in values]
    if joined.count("\n") == len(values) - 1 and _CANONICAL_LINES.match(joined):
        return [f"{value[:10]} {value[11:16]} UTC" for value in values]
    return [_utc(value) for value in values]


def _utc(value: Any) -> str:
    if isinstance(value, str) and _CANONICAL.match(value):  # the tap's form: no parsing
        return f"{value[:10]} {value[11:16]} UTC"
    moment = _moment(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""
