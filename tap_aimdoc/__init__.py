"""tap-aimdoc: a Singer tap for the Aimdoc External API (contacts, conversations, messages,
transcripts, visitor profiles).
"""
