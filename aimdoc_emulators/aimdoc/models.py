"""AimdocBackend: the data set in memory, its clock, API settings, faults and counts; no HTTP.

The uncertain parts of the API contract are settings: ``date_filter`` (do ``start_date`` and
``end_date`` filter on ``created_at`` or ``updated_at``), ``sorted`` (by ``updated_at`` then id,
or a stable order by id), ``envelope`` (``object`` = ``{data, page, per_page, total,
has_more}``, ``data_only`` = ``{data}``, ``array`` = a bare list), ``updated_at`` (whether
contacts and conversations carry it), ``conversation_key`` (``lead_id``, ``contact_id`` or
``both`` on conversations), ``messages_conversation_filter`` (``conversation_id`` on
``/messages`` honoured or ignored) and ``captured`` (a contact's captured data in its own
fields or in ``attributes``); see ``readings``.
"""

from __future__ import annotations

import inspect
import random
import threading
from bisect import bisect_left
from dataclasses import asdict, dataclass, fields
from operator import itemgetter
from typing import TYPE_CHECKING

from aimdoc_emulators.aimdoc.faults import FaultConfig, FaultInjector
from aimdoc_emulators.aimdoc.generator import KINDS, Dataset, generate_dataset
from aimdoc_emulators.aimdoc.readings import CAPTURED, CONVERSATION_KEYS
from aimdoc_emulators.aimdoc.stats import RequestStats
from aimdoc_emulators.aimdoc.timetravel import Plan, advance_dataset
from aimdoc_emulators.aimdoc.webhooks import WebhookHub

if TYPE_CHECKING:
    from datetime import date, datetime

DEFAULT_API_KEY = "ak_emulator_test_key"
NO_ACCESS_API_KEY = "ak_emulator_no_api_access"
# kind -> (field for date_filter=created_at, field for date_filter=updated_at)
DATE_FIELDS = {"contacts": ("created_at", "updated_at"),
               "conversations": ("created_at", "updated_at"),
               "messages": ("created_at", "created_at"),
               "visitor_profiles": ("first_seen_at", "last_seen_at")}
SORT_FIELDS = {"contacts": "updated_at", "conversations": "updated_at",
               "messages": "created_at", "visitor_profiles": "last_seen_at"}
ID_FIELDS = {"visitor_profiles": "visitor_id"}
ENVELOPES = ("object", "data_only", "array")


@dataclass
class ApiSettings:
    """The switchable [C] parts of the contract."""

    date_filter: str = "created_at"
    sorted: bool = True
    envelope: str = "object"
    default_per_page: int = 50
    max_per_page: int = 100
    updated_at: bool = True
    conversation_key: str = "both"
    messages_conversation_filter: bool = True
    captured: str = "fields"

    def update(self, values: dict) -> None:
        """Apply a JSON object of settings; raise ValueError on unknown or bad values."""
        known = {f.name for f in fields(self)}
        if set(values) - known:
            msg = f"unknown settings: {sorted(set(values) - known)}"
            raise ValueError(msg)
        merged = ApiSettings(**{**asdict(self), **values})
        if merged.date_filter not in ("created_at", "updated_at"):
            msg = "date_filter must be created_at or updated_at"
            raise ValueError(msg)
        if merged.envelope not in ENVELOPES:
            msg = f"envelope must be one of {ENVELOPES}"
            raise ValueError(msg)
        if merged.conversation_key not in CONVERSATION_KEYS:
            msg = f"conversation_key must be one of {CONVERSATION_KEYS}"
            raise ValueError(msg)
        if merged.captured not in CAPTURED:
            msg = f"captured must be one of {CAPTURED}"
            raise ValueError(msg)
        for name in ("sorted", "updated_at", "messages_conversation_filter"):
            if not isinstance(getattr(merged, name), bool):
                msg = f"{name} must be true or false"
                raise ValueError(msg)
        self.__dict__.update(asdict(merged))


@dataclass(frozen=True)
class Filters:
    """A validated list query."""

    page: int = 1
    per_page: int = 50
    start_date: date | None = None
    end_date: date | None = None
    conversation_id: str | None = None
    lead_id: str | None = None
    search: str | None = None
    last_seen_after: str | None = None


class AimdocBackend:
    """Holds what the emulator serves. ``reset()`` returns to the construction-time state."""

    def __init__(self, seed: int = 0, contacts: int = 200, *, settings: dict | None = None,
                 **knobs: object) -> None:
        self.lock = threading.RLock()
        self._baseline = {"seed": seed, "contacts": contacts, **knobs}
        self._baseline_settings = dict(settings or {})
        self.webhooks = WebhookHub()  # events of each advance, POSTed to subscribers
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Fresh baseline data, default settings and keys, no faults, zero counts."""
        with self.lock:
            self.dataset = generate_dataset(**self._baseline)  # type: ignore[arg-type]
            self.settings = ApiSettings()
            self.settings.update(self._baseline_settings)
            self.keys = {DEFAULT_API_KEY: True, NO_ACCESS_API_KEY: False}
            self.faults = FaultInjector()
            self.stats = RequestStats()
            self._advances = 0
            self._scheduled: list[tuple[int, dict]] = []
            self.webhooks.reset()
            self._changed()

    def generate(self, seed: int = 0, contacts: int = 200, **knobs: object) -> dict:
        """Replace the data with a new data set (``reset()`` still returns to the baseline)."""
        dataset = generate_dataset(seed=seed, contacts=contacts, **knobs)
        with self.lock:
            self.dataset, self._advances = dataset, 0
            self._changed()
            return self.dataset.counts()

    def configure(self, **values: object) -> dict:
        """Change API settings (``date_filter``, ``sorted``, ``envelope``, ...)."""
        with self.lock:
            self.settings.update(values)
            self._changed()
            return asdict(self.settings)

    def set_faults(self, config: FaultConfig | dict | None) -> dict:
        """Install fault injection (``None`` or ``{}`` switches it off)."""
        if not isinstance(config, FaultConfig):
            config = FaultConfig.from_json(config or {})
        with self.lock:
            self.faults = FaultInjector(config)
            return config.to_json()

    def add_key(self, key: str, *, api_access: bool = True) -> None:
        """Accept another API key (with or without API access)."""
        with self.lock:
            self.keys[key] = api_access

    # -- time --------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The emulator's clock: it moves only when advanced."""
        return self.dataset.now

    def advance(self, seconds: float = 0, *, days: float = 0, hours: float = 0,
                minutes: float = 0, seed: int | str | None = None, **plan: object) -> dict:
        """Move the clock forward and change the data (see ``timetravel``); return changes.

        ``plan`` takes ``new_contacts``, ``enriched_contacts``,
        ``conversations_with_new_messages``, ``reactivated_conversations`` (counts) and
        ``recent_days`` (which records may change; None: any).
        """
        total = int(seconds + minutes * 60 + hours * 3600 + days * 86400)
        with self.lock:
            self._advances += 1
            source = seed if seed is not None else \
                f"{self.dataset.options.seed}:advance:{self._advances}"
            changes = advance_dataset(self.dataset, Plan(seconds=total, **plan),  # type: ignore[arg-type]
                                      random.Random(source), webhooks=self.webhooks)
            self._changed()
            return changes.to_json()

    def schedule_advance(self, after_requests: int, **advance: object) -> None:
        """Advance when ``after_requests`` more API requests have arrived (before the next)."""
        inspect.signature(self.advance).bind(**advance)
        Plan(seconds=0, **{k: v for k, v in advance.items()  # type: ignore[arg-type]
                           if k not in ("days", "hours", "minutes", "seconds", "seed")})
        with self.lock:
            self._scheduled.append((self.stats.total + after_requests, advance))

    def before_request(self) -> None:
        """Run scheduled advances that are due (called as each API request arrives)."""
        with self.lock:
            due = [item for item in self._scheduled if item[0] <= self.stats.total]
            self._scheduled = [item for item in self._scheduled if item not in due]
            for _, advance in due:
                self.advance(**advance)  # type: ignore[arg-type]

    # -- queries -----------------------------------------------------------------------------

    def query(self, kind: str, filters: Filters) -> tuple[list[dict], int]:
        """One page of a listing and the number of matching records.

        Hold ``lock`` while using the rows: they are the live records.
        """
        with self.lock:
            matching = self._matching(kind, filters)
            first = (filters.page - 1) * filters.per_page
            return matching[first:first + filters.per_page], len(matching)

    def prepare(self) -> None:
        """Put each kind in API order now, as its first listing would (a server about to serve)."""
        with self.lock:
            for kind in KINDS:
                self._ordered(kind, None)

    def visitor_profile(self, visitor_id: str) -> dict | None:
        """One visitor profile, or None."""
        with self.lock:
            return self._by_id("visitor_profiles").get(visitor_id)

    def records(self, kind: str) -> list[dict]:
        """All records of a kind, in API order (a copy of the list, not of the records)."""
        with self.lock:
            return list(self._ordered(kind, None))

    def counts(self) -> dict[str, int]:
        """How many records of each kind."""
        with self.lock:
            return self.dataset.counts()

    def _matching(self, kind: str, filters: Filters) -> list[dict]:
        """The records a query selects, filtered once and reused for its other pages."""
        conversation_id = filters.conversation_id \
            if self.settings.messages_conversation_filter else None
        key = ("matching", kind, filters.start_date, filters.end_date, conversation_id,
               filters.lead_id, filters.search, filters.last_seen_after)
        if key not in self._cache:
            self._cache[key] = self._filtered(kind, filters, conversation_id)
        return self._cache[key]

    def _filtered(self, kind: str, filters: Filters, conversation_id: str | None) -> list[dict]:
        """``_ordered`` narrowed by each filter in turn (a condition per pass, no calls)."""
        rows = self._ordered(kind, conversation_id)
        field = DATE_FIELDS[kind][self.settings.date_filter == "updated_at"]
        if filters.start_date:  # record[field][:10] >= low, as low is a 10-character day
            low = filters.start_date.isoformat()
            if self.settings.sorted and field == SORT_FIELDS[kind]:  # ascending in field
                rows = rows[bisect_left(rows, low, key=itemgetter(field)):]
            else:
                rows = [record for record in rows if record[field] >= low]
        if filters.end_date:
            high = filters.end_date.isoformat()
            rows = [record for record in rows if record[field][:10] <= high]
        if filters.lead_id:
            lead_id = filters.lead_id
            rows = [record for record in rows if record.get("lead_id") == lead_id]
        if filters.last_seen_after:
            after = filters.last_seen_after
            rows = [record for record in rows if record.get("last_seen_at", "") >= after]
        if filters.search:
            needle = filters.search.lower()
            rows = [record for record in rows if needle in _searchable(record)]
        return rows

    def _ordered(self, kind: str, conversation_id: str | None) -> list[dict]:
        key = (kind, conversation_id, self.settings.sorted)
        if key not in self._cache:
            records = self.dataset.records(kind)
            if conversation_id is not None:
                records = self._messages_by_conversation().get(conversation_id, [])
            self._cache[key] = sorted(records, key=self._sort_key(kind))
        return self._cache[key]

    def _sort_key(self, kind: str) -> object:
        """By the timestamp then the id, or by the id alone.

        Timestamp, NUL, id orders as the tuple ``(stamp, id)`` does (no timestamp holds a NUL)
        and sorts faster.
        """
        ident = ID_FIELDS.get(kind, "id")
        if self.settings.sorted:
            stamp = SORT_FIELDS[kind]
            return lambda record: record[stamp] + "\0" + record[ident]
        return itemgetter(ident)

    def _messages_by_conversation(self) -> dict[str, list[dict]]:
        if "by_conversation" not in self._cache:
            index: dict[str, list[dict]] = {}
            for message in self.dataset.messages:
                index.setdefault(message["conversation_id"], []).append(message)
            self._cache["by_conversation"] = index
        return self._cache["by_conversation"]

    def _by_id(self, kind: str) -> dict[str, dict]:
        if ("ids", kind) not in self._cache:
            ident = ID_FIELDS.get(kind, "id")
            self._cache["ids", kind] = {r[ident]: r for r in self.dataset.records(kind)}
        return self._cache["ids", kind]

    def _changed(self) -> None:
        self._cache: dict = {}


def _searchable(record: dict) -> str:
    summary, company = record.get("summary") or {}, record.get("company") or {}
    parts = (summary.get("display_name"), summary.get("subtitle"), company.get("name"),
             company.get("domain"), record.get("email"))
    return " ".join(part for part in parts if part).lower()


__all__ = ["DEFAULT_API_KEY", "KINDS", "NO_ACCESS_API_KEY", "AimdocBackend", "ApiSettings",
           "Dataset", "Filters"]
