"""The admin surface under ``/__emulator``: stats, reset, generate, advance, config, faults.

Every call takes and returns JSON. None needs an API key, none is counted or faulted.

| call | body | answer |
|---|---|---|
| ``GET /__emulator/stats`` | | clock, record counts, request counts, settings, faults |
| ``GET /__emulator/requests?limit=N`` | | the latest API requests (never the key) |
| ``POST /__emulator/reset`` | | baseline data, default settings, no faults, zero counts |
| ``POST /__emulator/generate`` | ``{"seed": 7, "contacts": 1000, "free_mail_share": 0.2}`` |
  counts |
| ``POST /__emulator/advance`` | ``{"days": 1, "new_contacts": 5, "after_requests": 40}`` |
  changes |
| ``GET /__emulator/clock`` | | ``{"now": ...}`` |
| ``GET|PUT /__emulator/config`` | ``{"date_filter": "updated_at", "captured": "attributes"}`` |
  settings (see ``models.ApiSettings``) |
| ``GET|PUT|DELETE /__emulator/faults`` | ``{"seed": 1, "rate_429": 0.2, "rate_503": 0.05}`` |
  faults |
| ``POST /__emulator/keys`` | ``{"key": "ak_...", "api_access": true}`` | keys (masked) |
| ``GET /__emulator/data`` / ``GET /__emulator/data/<kind>`` | | counts / all records |
| ``GET|POST|DELETE /__emulator/webhooks`` | ``{"url": "https://...", "events": [...]}`` |
  subscriptions and deliveries (see ``webhooks``) |
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aimdoc_emulators.aimdoc.generator import KINDS
from aimdoc_emulators.aimdoc.responses import error, json_response
from aimdoc_emulators.aimdoc.timeutil import iso

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request

    from aimdoc_emulators.aimdoc.models import AimdocBackend
    from aimdoc_emulators.aimdoc.responses import Response


class AimdocAdmin:
    """Admin handlers: parse the JSON body, call the backend, answer JSON."""

    def __init__(self, backend: AimdocBackend) -> None:
        self.backend = backend
        self._routes: dict[tuple[str, str], Callable[..., object]] = {
            ("index", "GET"): self.index, ("stats", "GET"): self.stats,
            ("requests", "GET"): self.requests, ("reset", "POST"): self.reset,
            ("generate", "POST"): self.generate, ("advance", "POST"): self.advance,
            ("clock", "GET"): self.clock, ("config", "GET"): self.config,
            ("config", "PUT"): self.configure, ("faults", "GET"): self.faults,
            ("faults", "PUT"): self.set_faults, ("faults", "DELETE"): self.clear_faults,
            ("keys", "POST"): self.add_key, ("counts", "GET"): self.counts,
            ("data", "GET"): self.data, ("webhooks", "GET"): self.webhooks,
            ("webhooks", "POST"): self.webhooks, ("webhooks", "DELETE"): self.webhooks,
        }

    def dispatch(self, name: str, request: Request, args: dict) -> Response:
        """Run the handler for ``admin:<name>``; bad input answers 400."""
        handler = self._routes.get((name, request.method))
        if handler is None:
            return error(405, "method_not_allowed", f"{request.method} not allowed here")
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
            if not isinstance(body, dict):
                msg = "the body must be a JSON object"
                raise TypeError(msg)
            return json_response(handler(body, request, **args))
        except (ValueError, TypeError, KeyError) as exc:
            return error(400, "bad_request", str(exc))

    def index(self, _body: dict, _request: Request) -> dict:
        """The admin calls."""
        return {"calls": sorted({f"{method} /__emulator/{name}" for name, method in self._routes
                                 if name != "index"})}

    def stats(self, _body: dict, _request: Request) -> dict:
        """Clock, counts, request counters, settings and faults."""
        backend = self.backend
        with backend.lock:
            return {"clock": iso(backend.now), "counts": backend.counts(),
                    **backend.stats.to_json(), "settings": self.config({}, _request),
                    "fault_config": backend.faults.config.to_json()}

    def requests(self, _body: dict, request: Request) -> dict:
        """The latest API requests, oldest first."""
        limit = int(request.args.get("limit", 100))
        with self.backend.lock:
            return {"requests": list(self.backend.stats.log)[-limit:]}

    def reset(self, _body: dict, _request: Request) -> dict:
        """Back to the baseline."""
        self.backend.reset()
        return {"status": "ok", "counts": self.backend.counts()}

    def generate(self, body: dict, _request: Request) -> dict:
        """A new data set from generator options."""
        return {"status": "ok", "counts": self.backend.generate(**body)}

    def advance(self, body: dict, _request: Request) -> dict:
        """Time travel now, or after ``after_requests`` more API requests."""
        after = body.pop("after_requests", None)
        if after is not None:
            self.backend.schedule_advance(int(after), **body)
            return {"status": "scheduled", "after_requests": int(after)}
        return {"status": "ok", **self.backend.advance(**body)}

    def clock(self, _body: dict, _request: Request) -> dict:
        """The emulator's current time."""
        return {"now": iso(self.backend.now)}

    def config(self, _body: dict, _request: Request) -> dict:
        """API settings."""
        return dict(self.backend.settings.__dict__)

    def configure(self, body: dict, _request: Request) -> dict:
        """Change API settings."""
        return self.backend.configure(**body)

    def faults(self, _body: dict, _request: Request) -> dict:
        """Fault settings."""
        return self.backend.faults.config.to_json()

    def set_faults(self, body: dict, _request: Request) -> dict:
        """Replace fault settings."""
        return self.backend.set_faults(body)

    def clear_faults(self, _body: dict, _request: Request) -> dict:
        """No more faults."""
        return self.backend.set_faults(None)

    def add_key(self, body: dict, _request: Request) -> dict:
        """Accept another API key."""
        key = str(body["key"])
        if not key.startswith("ak_"):
            msg = "Aimdoc API keys start with ak_"
            raise ValueError(msg)
        self.backend.add_key(key, api_access=bool(body.get("api_access", True)))
        return {"keys": {f"{k[:5]}...": v for k, v in self.backend.keys.items()}}

    def counts(self, _body: dict, _request: Request) -> dict:
        """Record counts."""
        return self.backend.counts()

    def webhooks(self, body: dict, request: Request) -> dict:
        """Webhook subscriptions: GET lists (and recent deliveries), POST adds, DELETE removes."""
        if request.method == "GET" and request.args.get("limit"):
            body = {**body, "limit": int(request.args["limit"])}
        return self.backend.webhooks.admin(request.method, body)

    def data(self, _body: dict, _request: Request, kind: str) -> object:
        """Every record of a kind, in API order."""
        if kind not in KINDS:
            msg = f"kind must be one of {KINDS}"
            raise ValueError(msg)
        with self.backend.lock:
            return json.dumps(self.backend.records(kind), ensure_ascii=False)
