"""The run's connection to the org, made when the first record needs it.

A run with nothing to write (every record unchanged since its last sync, no transcript to
update, no dead letter to retry) makes no Salesforce call at all: no login, no describe. The
first batch that needs Salesforce logs in, describes the objects and checks the mapping
against them, all before its first write; so a config mistake still fails before anything is
written. ``target-salesforce-aimdoc-check`` connects at once.

Each batch matches and writes holding the org's lock (``exclusive``), so two runs against one
org on one machine never match the same person at once and both create: the second waits,
then finds what the first wrote. Held per batch, the lock never outlives a run that failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from target_salesforce_aimdoc.checks import check_settings
from target_salesforce_aimdoc.external_ids import external_id_fields, external_id_problems
from target_salesforce_aimdoc.run_lock import DEFAULT_WAIT_SECONDS, OrgLock
from target_salesforce_aimdoc.salesforce import SalesforceClient
from target_salesforce_aimdoc.settings import raise_all

if TYPE_CHECKING:
    from collections.abc import Iterator

    from target_salesforce_aimdoc.links import LinkStore
    from target_salesforce_aimdoc.settings import SyncSettings


def config_origin(config: dict[str, Any]) -> str:
    """A fingerprint of where a config logs in (URLs and user, never a secret's value)."""
    parts = [str(config.get(name) or "") for name in
             ("login_url", "instance_url", "username", "client_id", "auth_flow")]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


class OrgConnection:
    """The client, the describes and the run lock; ``ensure()`` makes them ready once."""

    def __init__(self, config: dict[str, Any], settings: SyncSettings, links: LinkStore,
                 objects: list[str], *, dry_run: bool) -> None:
        self.config = config
        self.settings = settings
        self.links = links
        self.objects = objects
        self.dry_run = dry_run
        self.links.origin = config_origin(config)
        self.client = SalesforceClient(config)
        self.client.on_first_use = self.ensure
        self.describes: dict[str, dict[str, Any]] = {}  # filled in place by ensure()
        self.external_ids: dict[str, str] = {}  # object -> external-id field, likewise
        self.ready = False
        self._guard = threading.RLock()

    def ensure(self) -> None:
        """Log in, take the org's lock, describe and check the mapping (once, thread-safe)."""
        if self.ready:
            return
        with self._guard:
            if self.ready:
                return
            client = self.client
            client.login()
            self.describes.update(client.describe_many(self.objects))
            raise_all(check_settings(self.settings, self.describes)
                      + external_id_problems(self.config, self.describes))
            self.external_ids.update(external_id_fields(self.config, self.describes))
            self.links.bind(client.org_id, client.instance_url)
            self.ready = True

    def org_key(self) -> str:
        """The org's name for its lock, from the config (no login needed): its URL's host."""
        url = str(self.config.get("instance_url") or self.config.get("login_url") or "")
        host = urlsplit(url if "://" in url else f"https://{url}").netloc.lower()
        return host or "default-org"

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[int | None]:
        """Hold the org's run lock while a batch matches and writes (not on a dry run).

        Yields the lock's generation (None on a dry run): see ``run_lock.OrgLock``.
        """
        if self.dry_run:
            yield None
            return
        lock = OrgLock(self.org_key(),
                       float(self.config.get("run_lock_wait_seconds") or DEFAULT_WAIT_SECONDS),
                       self.config.get("run_lock_dir")).acquire()
        try:
            yield lock.generation
        finally:
            lock.release()
