"""TapAimdoc: the settings, the five streams, and state that keeps other plugins' keys."""

from __future__ import annotations

import copy
from functools import cached_property
from typing import Any

from singer_sdk import Tap
from singer_sdk import typing as th

from tap_aimdoc.client import DEFAULT_API_URL
from tap_aimdoc.readings import Readings
from tap_aimdoc.redaction import REDACTOR
from tap_aimdoc.streams import (
    ContactsStream,
    ConversationsStream,
    MessagesStream,
    VisitorProfilesStream,
)
from tap_aimdoc.transcripts import TranscriptsStream
from tap_aimdoc.writer import AimdocWriter
from target_salesforce_aimdoc.config_input import MeltanoEnvConfig


class TapAimdoc(MeltanoEnvConfig, Tap):
    """Singer tap for the Aimdoc External API."""

    name = "tap-aimdoc"
    package_name = "aimdoc-salesforce-sync"
    message_writer_class = AimdocWriter

    config_jsonschema = th.PropertiesList(
        th.Property("api_key", th.StringType, required=True, secret=True, title="API key",
                    description="Aimdoc API key (starts with ak_; needs the Convert plan)"),
        th.Property("api_url", th.StringType, default=DEFAULT_API_URL, title="API URL",
                    description="Base URL of the External API"),
        th.Property("start_date", th.DateTimeType, title="Start date",
                    description="Oldest change to sync on the first run; empty: everything"),
        th.Property("lookback_days", th.IntegerType(minimum=0), default=7,
                    title="Lookback days",
                    description="Days re-read before the bookmark, since the API filters "
                                "whole days and maybe on created_at"),
        th.Property("reconcile_hours", th.NumberType(minimum=0), default=24,
                    title="Reconcile hours",
                    description="Until the API is seen filtering start_date on updated_at, "
                                "read the whole contacts and conversations listings at most "
                                "this often, to find updates to records created before the "
                                "lookback window (one request per page_size records); "
                                "0: never"),
        th.Property("page_size", th.IntegerType(minimum=1, maximum=100), default=100,
                    title="Page size", description="Records per request (at most 100)"),
        th.Property("request_timeout", th.NumberType(exclusive_minimum=0), default=60,
                    title="Request timeout", description="Seconds to wait for a response"),
        th.Property("max_tries", th.IntegerType(minimum=1), default=8, title="Max tries",
                    description="Tries per request on 429, 5xx, timeouts and broken "
                                "connections, the first one included"),
        th.Property("backoff_factor", th.NumberType(minimum=0), default=2.0,
                    title="Backoff factor",
                    description="Seconds before the first retry when the API sends no "
                                "Retry-After; doubles with each try"),
        th.Property("max_retry_wait", th.NumberType(minimum=0), default=300,
                    title="Max retry wait",
                    description="Longest single wait in seconds, even if Retry-After asks "
                                "for more"),
        th.Property("ca_file", th.StringType, title="CA file",
                    description="PEM bundle to trust for TLS (e.g. the emulator's CA); "
                                "default: REQUESTS_CA_BUNDLE, then the system bundle"),
        th.Property("user_agent", th.StringType, title="User agent",
                    description="User-Agent header; default tap-aimdoc/<version>"),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The SDK's tap, with every secret setting scrubbed from all it writes."""
        super().__init__(*args, **kwargs)
        REDACTOR.install(dict(self.config), self.config_jsonschema)

    @cached_property
    def readings(self) -> Readings:
        """What this run learns of the API's undocumented behaviour (logged once each)."""
        return Readings(self.logger)

    def discover_streams(self) -> list:
        """Contacts, conversations, messages, transcripts, visitor profiles."""
        return [
            ContactsStream(self),
            ConversationsStream(self),
            MessagesStream(self),
            TranscriptsStream(self),
            VisitorProfilesStream(self),
        ]

    def load_state(self, state: dict[str, Any]) -> None:
        """Load bookmarks, and keep every other top-level key.

        Keys such as the target's ``salesforce_links`` ride along in each STATE message.
        """
        super().load_state(state)
        for key, value in state.items():
            if key != "bookmarks":
                self.state[key] = copy.deepcopy(value)
