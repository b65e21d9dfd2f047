"""Pytest fixtures for the Aimdoc emulator (placeholder until the emulator lands)."""
