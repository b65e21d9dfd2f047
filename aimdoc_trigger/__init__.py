"""aimdoc-trigger: run a sync when Aimdoc's webhooks say something changed.

Each webhook event is a hint, never data: the trigger answers 202 at once, coalesces a burst of
events into one run of the configured command (``meltano run tap-aimdoc
target-salesforce-aimdoc`` by default), runs one command at a time with a minimum interval
between starts, and also runs on a fallback schedule so a lost event costs at most one interval.
The Aimdoc API stays the source of truth: an unsigned event can at most cause a sync.

Modules: ``settings`` (flags and ``AIMDOC_TRIGGER_*`` variables), ``runner`` (when to run,
one at a time), ``app`` (the WSGI receiver), ``cli`` (serve until SIGTERM or SIGINT).
"""
