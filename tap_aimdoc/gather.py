"""The messages of the changed conversations, gathered the cheaper of two ways each run.

- One by one: ``/messages?conversation_id=`` per conversation, a request or more each
  (``message_count`` tells how many). Cheap when few conversations changed.
- A scan: the ``/messages`` listing read forward once, from the day the oldest of them
  started minus ``lookback_days`` (a safety margin), keeping only their messages. Cheap on a
  first sync, when most conversations changed.

The scan's first page tells its length when the API reports a ``total``: the scan goes on only
if it takes fewer requests than one by one would. Without a ``total`` it goes on while it has
not cost as much as one by one would, then gives up for one by one (at worst twice the
requests). It also gives up if messages do not say their conversation. After a scan, a
conversation with fewer messages than its ``message_count`` is fetched on its own, so a
message dated before the margin or left out of the listing is not lost.

While the listing is seen in its [C] order, by (``created_at``, id) ascending (each page in
order, each page after the one before), a page whose last message came at T means every
message that came before T has been read: a conversation whose last message came before T and
that has all the messages it says it has is complete, and its transcript goes out during the
scan (see ``Frontier``). Once the order is broken, or cannot be told, the rest wait for the end.
A message that comes during the scan to a conversation already out changes the conversation's
``updated_at``, so the next run lists it again.
"""

from __future__ import annotations

import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from itertools import islice
from operator import le
from typing import TYPE_CHECKING, Any, TypeVar

from tap_aimdoc.streams import normalize_message
from tap_aimdoc.timestamps import all_canonical, canonical

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator

    from tap_aimdoc.client import AimdocStream
    from tap_aimdoc.paging import Page
    from tap_aimdoc.spool import TranscriptSpool

MESSAGES = "/messages"
# Conversations whose messages are fetched at once, one by one. (A scan reads its pages
# strictly one after the other: reading ahead could miss a message shifted by an insert.)
WORKERS = 4
T = TypeVar("T")
R = TypeVar("R")


class MessageGatherer:
    """Fills a spool's conversations with their messages, for one stream's run."""

    def __init__(self, stream: AimdocStream, spool: TranscriptSpool) -> None:
        self.stream, self.spool = stream, spool
        self._warned = False

    def gather(self) -> Iterator[tuple[dict, list[tuple]]]:
        """Scan if that is cheaper (then fetch the short ones), else fetch one by one.

        Yields the transcripts (header, messages) known complete during a scan, marked done
        in the spool; the others are in the spool when it ends. If the API ignores
        ``conversation_id`` (each request would list every message), one scan replaces the
        requests per conversation, with a warning.
        """
        budget = int(self.spool.pages())
        scanned = budget > 1 and (yield from self.scan(budget))
        pending = self.spool.short_conversations() if scanned else self.spool.conversations()
        if self.fetch_each(pending):
            return
        self.stream.logger.warning(
            "Transcripts: the API ignores conversation_id on /messages (a request for one "
            "conversation listed others' messages): reading the /messages listing once "
            "instead of once per conversation (%d conversations).", self.spool.count())
        if not scanned:
            scanned = yield from self.scan(math.inf)
        if scanned and next(iter(self.spool.short_conversations()), None) is not None:
            yield from self.scan(math.inf, from_start=True)

    # -- the scan ----------------------------------------------------------------------------

    def scan(self, budget: float, *, from_start: bool = False,
             ) -> Generator[tuple[dict, list[tuple]], None, bool]:
        """Read ``/messages`` forward, yielding complete transcripts on the way.

        False (the messages of those not yet out forgotten) once it would cost ``budget``.
        From the oldest conversation's day minus the lookback, or from the start.
        """
        day = None if from_start else self.scan_day()
        params = {"start_date": day} if day else {}
        frontier = Frontier()
        for read, page in enumerate(self.stream.read_listing(MESSAGES, params, None), 1):
            if read == 1 and not attributable(page.records):
                return self._give_up("messages do not name their conversation")
            if least_pages(page, read, self.stream.page_size) > budget:
                return self._give_up(f"more than {budget} pages")
            self.keep(page.records)
            if (before := frontier.advance(page.records)) is not None:
                yield from self.spool.finished(before)
        self.stream.logger.info("Transcripts: messages of %d conversations gathered by one "
                                "scan of /messages from %s; %d transcripts out during the "
                                "scan%s.", self.spool.count(), day or "the start",
                                self.spool.done(), frontier.describe())
        return True

    def scan_day(self) -> str | None:
        """The oldest conversation's first day minus ``lookback_days`` (None: from the start)."""
        day = self.spool.earliest_day()
        if day is None:
            return None
        margin = timedelta(days=int(self.stream.config.get("lookback_days", 7)))
        return (date.fromisoformat(day) - margin).isoformat()

    def keep(self, records: list[dict]) -> None:
        """Spool the messages of the page that belong to a changed conversation."""
        wanted = self.spool.wanted(r.get("conversation_id") for r in records)
        self.spool.add_messages((wanted[r["conversation_id"]],
                                 normalize_message(r, r["conversation_id"]))
                                for r in records if r.get("conversation_id") in wanted)

    def _give_up(self, reason: str) -> bool:
        self.spool.forget_messages()
        self.stream.logger.info("Transcripts: messages fetched per conversation (a scan of "
                                "/messages would take %s).", reason)
        return False

    # -- one by one --------------------------------------------------------------------------

    def fetch_each(self, conversations: Iterable[tuple[int, Any]]) -> bool:
        """Fetch and spool the messages of each (place, id) conversation, a few at a time.

        The first is fetched alone, as the probe of ``conversation_id``: False (nothing
        fetched) if the API ignores it.
        """
        items = iter(conversations)
        first = next(items, None)
        if first is None:
            return True
        try:
            seq, messages = self.conversation_messages(first, probe=True)
        except FilterIgnoredError:
            self.stream.readings.messages_filter(honoured=False)
            return False
        self.stream.readings.messages_filter(honoured=True)
        self.spool.add_messages((seq, message) for message in messages)
        for seq, messages in bounded_map(self.conversation_messages, items, WORKERS):
            self.spool.add_messages((seq, message) for message in messages)
        return True

    def conversation_messages(self, conversation: tuple[int, Any], *, probe: bool = False,
                              ) -> tuple[int, list[dict]]:
        """A (place, id) conversation's place and messages, normalised, others' left out.

        ``probe``: FilterIgnoredError at the first message of another conversation.
        """
        seq, conversation_id = conversation
        context = {"conversation_id": conversation_id}
        messages = []
        for page in self.stream.read_listing(MESSAGES, context, context):
            for message in page.records:
                if message.get("conversation_id") not in (None, conversation_id):
                    if probe:
                        raise FilterIgnoredError(conversation_id)
                    self._warn_foreign()
                    continue
                messages.append(normalize_message(message, conversation_id))
        return seq, messages

    def _warn_foreign(self) -> None:
        if not self._warned:
            self._warned = True
            self.stream.logger.warning("The API ignored the conversation_id filter on "
                                       "/messages; messages of other conversations are "
                                       "skipped (slow).")


class FilterIgnoredError(Exception):
    """``/messages?conversation_id=`` listed messages of another conversation."""


class Frontier:
    """How far an in-order scan of ``/messages`` has read: every message that came before."""

    def __init__(self) -> None:
        self._last: tuple[str, str] | None = None
        self.broken = False

    def advance(self, records: list[dict]) -> str | None:
        """After reading a page: every message before the returned moment has been read.

        None from the first page out of order on (or without a time or id to order by).
        """
        if self.broken or not records:
            return None
        keys = order_keys(records)
        if keys is None or not all(map(le, keys, islice(keys, 1, None))) or (
                self._last is not None and keys[0] <= self._last):
            self.broken = True
            return None
        self._last = keys[-1]
        return self._last[0]

    def describe(self) -> str:
        """Why transcripts may have waited for the end, for the log."""
        return " (then /messages came out of created_at order)" if self.broken else ""


def order_keys(messages: list[dict]) -> list[tuple[str, str]] | None:
    """Each message's place in the listing's [C] order; None if one lacks a time or an id."""
    stamps = [message.get("created_at") for message in messages]
    if not all_canonical(stamps):
        stamps = [canonical(stamp) for stamp in stamps]
        if not all_canonical(stamps):
            return None
    ids = [message.get("id") for message in messages]
    if None in ids or "" in ids:
        return None
    return list(zip(stamps, map(str, ids), strict=True))


def attributable(records: list[dict]) -> bool:
    """Whether every message names its conversation (a scan needs that)."""
    return all(record.get("conversation_id") is not None for record in records)


def least_pages(page: Page, read: int, page_size: int) -> int:
    """The fewest pages the listing can have, known after reading ``read`` of them."""
    per_page = page.per_page or page_size
    if page.total is not None:
        return max(read, math.ceil(page.total / per_page))
    more = page.has_more if page.has_more is not None else len(page.records) >= per_page
    return read + 1 if more else read


def bounded_map(function: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``function`` of each item, on ``workers`` threads, in order; few results waiting."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="tap-aimdoc-fetch")
    running: deque = deque()
    try:
        for item in items:
            running.append(pool.submit(function, item))
            if len(running) >= 2 * workers:
                yield running.popleft().result()
        while running:
            yield running.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
