"""URL rules of the Aimdoc emulator: API paths, then the admin surface under ``/__emulator``."""

from __future__ import annotations

from werkzeug.routing import Map, Rule

API_PREFIX = "/api/v1"
ADMIN_PREFIX = "/__emulator"

# endpoint -> stored kind for the list endpoints (``leads`` is the deprecated alias).
LISTS = {"contacts": "contacts", "leads": "contacts", "conversations": "conversations",
         "messages": "messages", "visitor_profiles": "visitor_profiles"}

# PATH_INFO -> endpoint for the fixed API paths: what ``url_map`` matches them to, without it.
API_PATHS = {f"{API_PREFIX}/{path}": endpoint for path, endpoint in (
    ("contacts", "contacts"), ("leads", "leads"), ("conversations", "conversations"),
    ("messages", "messages"), ("visitor-profiles", "visitor_profiles"))}

url_map = Map([
    Rule(f"{API_PREFIX}/contacts", endpoint="contacts"),
    Rule(f"{API_PREFIX}/leads", endpoint="leads"),
    Rule(f"{API_PREFIX}/conversations", endpoint="conversations"),
    Rule(f"{API_PREFIX}/messages", endpoint="messages"),
    Rule(f"{API_PREFIX}/visitor-profiles", endpoint="visitor_profiles"),
    Rule(f"{API_PREFIX}/visitor-profiles/<visitor_id>", endpoint="visitor_profile"),
    Rule(ADMIN_PREFIX, endpoint="admin:index"),
    Rule(f"{ADMIN_PREFIX}/stats", endpoint="admin:stats"),
    Rule(f"{ADMIN_PREFIX}/requests", endpoint="admin:requests"),
    Rule(f"{ADMIN_PREFIX}/reset", endpoint="admin:reset"),
    Rule(f"{ADMIN_PREFIX}/generate", endpoint="admin:generate"),
    Rule(f"{ADMIN_PREFIX}/advance", endpoint="admin:advance"),
    Rule(f"{ADMIN_PREFIX}/clock", endpoint="admin:clock"),
    Rule(f"{ADMIN_PREFIX}/config", endpoint="admin:config"),
    Rule(f"{ADMIN_PREFIX}/faults", endpoint="admin:faults"),
    Rule(f"{ADMIN_PREFIX}/keys", endpoint="admin:keys"),
    Rule(f"{ADMIN_PREFIX}/webhooks", endpoint="admin:webhooks"),
    Rule(f"{ADMIN_PREFIX}/data", endpoint="admin:counts"),
    Rule(f"{ADMIN_PREFIX}/data/<kind>", endpoint="admin:data"),
], strict_slashes=False)
