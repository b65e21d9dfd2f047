"""Per-agent configuration: which of a stream's variants a record uses (pure).

A stream's ``agents`` and ``variants`` are tried in order; the first whose ``when`` holds on
the record gives its config (``StreamConfig``), else the stream's own config applies. A
``when`` that fails to evaluate does not hold. Mapped records carry their variant's name, so
a batch is matched, planned and written group by group, each with its own config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from target_salesforce_aimdoc.expressions import ExpressionError, Scope
from target_salesforce_aimdoc.filters import Skip, first_failure
from target_salesforce_aimdoc.notes import transcript_key

if TYPE_CHECKING:
    from target_salesforce_aimdoc.mapping import MappedRecord
    from target_salesforce_aimdoc.notes import NoteSettings
    from target_salesforce_aimdoc.report import RunReport
    from target_salesforce_aimdoc.settings import StreamConfig, SyncSettings


def choose(stream: StreamConfig, record: Mapping[str, Any],
           settings: SyncSettings) -> StreamConfig:
    """The config a record uses: the first variant whose ``when`` holds, else the stream's."""
    if not stream.variants:
        return stream
    scope = Scope(record, config=settings.map_config, stream=stream.name)
    for variant in stream.variants:
        try:
            if variant.when.evaluate(scope):
                return variant.config
        except ExpressionError:
            continue
    return stream


def by_variant(stream: StreamConfig,
               batch: list[MappedRecord]) -> list[tuple[StreamConfig, list[MappedRecord]]]:
    """A batch's records grouped by the config they were mapped with, in the configs' order.

    Records keep their order within a group; a batch of one config is one group (an empty
    batch too, with the stream's own config).
    """
    groups: dict[str, list[MappedRecord]] = {}
    for mapped in batch:
        groups.setdefault(mapped.variant, []).append(mapped)
    if len(groups) <= 1:
        variant = next(iter(groups), "")
        return [(stream.config_named(variant), batch)]
    return [(config, groups[config.variant]) for config in stream.configs
            if config.variant in groups]


def note_skip(transcript: Mapping[str, Any], settings: SyncSettings,
              contact_stream: str) -> Skip | None:
    """Why a transcript gets no note under its agent's config (None: write it).

    The config is the contact stream's variant whose ``when`` holds on the transcript (which
    carries ``agent_id`` and ``agent_name`` like its contact): ``notes.enabled: false`` skips
    it as ``notes_disabled``, else ``notes.filters`` (e.g. ``escalated or buyer_intent``) must
    all hold, skips counted per rule.
    """
    stream = settings.stream(contact_stream)
    if stream is None:
        return None
    config = choose(stream, transcript, settings)
    if not config.notes.enabled:
        return Skip("notes_disabled")
    if not config.notes.filters:
        return None
    scope = Scope(transcript, config=settings.map_config, stream=contact_stream)
    return first_failure(scope, config.notes.filters)


def split_transcripts(transcripts: list[dict[str, Any]], settings: SyncSettings,
                      contact_stream: str) -> tuple[list[dict[str, Any]],
                                                    list[tuple[dict[str, Any], Skip]]]:
    """The transcripts whose notes are written, and the others with why they are skipped."""
    kept: list[dict[str, Any]] = []
    skipped: list[tuple[dict[str, Any], Skip]] = []
    for transcript in transcripts:
        skip = note_skip(transcript, settings, contact_stream)
        if skip is None:
            kept.append(transcript)
        else:
            skipped.append((transcript, skip))
    return kept, skipped


def skip_notes(transcripts: list[dict[str, Any]], settings: SyncSettings,
               notes: NoteSettings, report: RunReport) -> list[dict[str, Any]]:
    """The transcripts whose notes are written; the others are reported as skips."""
    kept, skipped = split_transcripts(transcripts, settings, notes.contact_stream)
    for transcript, skip in skipped:
        key = transcript_key(transcript)
        report.records_seen[notes.stream] += 1
        report.add_skip(notes.stream, key, skip.rule)
    return kept
