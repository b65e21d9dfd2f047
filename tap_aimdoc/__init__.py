"""tap-aimdoc: a Singer tap for the Aimdoc External API.

Streams: contacts, conversations, messages, transcripts and visitor profiles.
"""
