"""Shared fixtures: the emulators run once per session and are reset before each test."""

pytest_plugins = [
    "aimdoc_emulators.salesforce.fixtures",
    "aimdoc_emulators.aimdoc.fixtures",
]
