"""REST paths under ``/services/data/v{version}``: regex -> (handler name, call kind) per method.

Paths match case-insensitively and with or without a trailing slash, as the real service does.
"""

from __future__ import annotations

import re

_T = r"(?P<sobject>[A-Za-z][A-Za-z0-9_]*)"
_ID = r"(?P<record_id>[a-zA-Z0-9]{15}|[a-zA-Z0-9]{18})"
_JOB = r"(?P<job_id>[a-zA-Z0-9]+)"

ROUTES: list[tuple[re.Pattern[str], dict[str, tuple[str, str]]]] = [
    (r"", {"GET": ("version_resources", "read")}),
    (r"/sobjects", {"GET": ("describe_global", "describe")}),
    (rf"/sobjects/{_T}/updated", {"GET": ("sobject_updated", "replication")}),
    (rf"/sobjects/{_T}/deleted", {"GET": ("sobject_deleted", "replication")}),
    (rf"/sobjects/{_T}", {"GET": ("sobject_info", "describe"), "POST": ("create", "insert")}),
    (rf"/sobjects/{_T}/describe", {"GET": ("describe", "describe")}),
    (rf"/sobjects/{_T}/{_ID}", {
        "GET": ("retrieve", "read"), "PATCH": ("update", "update"), "DELETE": ("delete", "delete"),
    }),
    (rf"/sobjects/{_T}/{_ID}/(?P<blob_field>[A-Za-z0-9_]+)", {"GET": ("blob", "read")}),
    (rf"/sobjects/{_T}/(?P<field>[A-Za-z][A-Za-z0-9_]*)/(?P<value>[^/]+)", {
        "GET": ("retrieve_external", "read"), "PATCH": ("upsert", "upsert"),
        "DELETE": ("delete_external", "delete"),
    }),
    (r"/composite/sobjects", {
        "POST": ("collections_create", "insert"), "PATCH": ("collections_update", "update"),
        "DELETE": ("collections_delete", "delete"),
    }),
    (rf"/composite/sobjects/{_T}", {
        "GET": ("collections_retrieve", "read"), "POST": ("collections_retrieve", "read"),
    }),
    (rf"/composite/sobjects/{_T}/(?P<field>[A-Za-z][A-Za-z0-9_]*)", {
        "PATCH": ("collections_upsert", "upsert"),
    }),
    (r"/composite", {"POST": ("composite", "composite")}),
    (r"/composite/batch", {"POST": ("composite_batch", "composite")}),
    (r"/search", {"GET": ("search", "search")}),
    (r"/query", {"GET": ("query", "query")}),
    (r"/queryall", {"GET": ("query_all", "query")}),
    (r"/query/(?P<locator>01g[A-Za-z0-9]+-\d+)", {"GET": ("query_more", "query")}),
    (r"/queryall/(?P<locator>01g[A-Za-z0-9]+-\d+)", {"GET": ("query_more", "query")}),
    (r"/limits", {"GET": ("org_limits", "limits")}),
    # Bulk API 2.0 ingest (bulk.py); kinds "bulk" (changes a job) and "bulk_read"
    (r"/jobs/ingest", {"GET": ("bulk_list", "bulk_read"), "POST": ("bulk_create", "bulk")}),
    (rf"/jobs/ingest/{_JOB}", {
        "GET": ("bulk_job", "bulk_read"), "PATCH": ("bulk_state", "bulk"),
        "DELETE": ("bulk_delete", "bulk"),
    }),
    (rf"/jobs/ingest/{_JOB}/batches", {"PUT": ("bulk_upload", "bulk")}),
    (rf"/jobs/ingest/{_JOB}/(?P<result_type>successfulResults|failedResults|unprocessedRecords)",
     {"GET": ("bulk_results", "bulk_read")}),
    # Bulk API 2.0 query jobs (bulk_query.py)
    (r"/jobs/query", {"GET": ("bulk_query_list", "bulk_read"),
                      "POST": ("bulk_query_create", "bulk")}),
    (rf"/jobs/query/{_JOB}", {
        "GET": ("bulk_query_job", "bulk_read"), "PATCH": ("bulk_query_state", "bulk"),
        "DELETE": ("bulk_query_delete", "bulk"),
    }),
    (rf"/jobs/query/{_JOB}/results", {"GET": ("bulk_query_results", "bulk_read")}),
]
ROUTES = [(re.compile(rf"^{pattern}/?$", re.IGNORECASE), methods) for pattern, methods in ROUTES]

# Bulk API 1.0 under /services/async/{version} (bulk_v1.py); handler names start "bulkv1_"
_BATCH = r"(?P<batch_id>[a-zA-Z0-9]+)"
ASYNC_ROUTES: list[tuple[re.Pattern[str], dict[str, tuple[str, str]]]] = [
    (r"/job", {"POST": ("bulkv1_create_job", "bulk")}),
    (rf"/job/{_JOB}", {"GET": ("bulkv1_job", "bulk_read"), "POST": ("bulkv1_update_job", "bulk")}),
    (rf"/job/{_JOB}/batch", {"GET": ("bulkv1_batches", "bulk_read"),
                             "POST": ("bulkv1_add_batch", "bulk")}),
    (rf"/job/{_JOB}/batch/{_BATCH}", {"GET": ("bulkv1_batch", "bulk_read")}),
    (rf"/job/{_JOB}/batch/{_BATCH}/request", {"GET": ("bulkv1_batch_request", "bulk_read")}),
    (rf"/job/{_JOB}/batch/{_BATCH}/result", {"GET": ("bulkv1_batch_result", "bulk_read")}),
    (rf"/job/{_JOB}/batch/{_BATCH}/result/(?P<result_id>[a-zA-Z0-9]+)",
     {"GET": ("bulkv1_query_result", "bulk_read")}),
]
ASYNC_ROUTES = [(re.compile(rf"^{pattern}/?$", re.IGNORECASE), methods)
                for pattern, methods in ASYNC_ROUTES]

DATA_PREFIX = re.compile(r"^/services/data/v(?P<version>\d+\.\d)(?P<rest>/.*)?$", re.IGNORECASE)
ASYNC_PREFIX = re.compile(r"^/services/async/(?P<version>\d+\.\d)(?P<rest>/.*)?$",
                          re.IGNORECASE)
SOAP_LOGIN = re.compile(r"/services/Soap/u/(?P<version>\d+\.\d)(?:/[A-Za-z0-9]{15,18})?/?$",
                        re.IGNORECASE)
OAUTH_TOKEN = re.compile(r"/services/oauth2/token/?$", re.IGNORECASE)
OAUTH_REVOKE = re.compile(r"/services/oauth2/revoke/?$", re.IGNORECASE)
OAUTH_USERINFO = re.compile(r"^/services/oauth2/userinfo/?$", re.IGNORECASE)
IDENTITY = re.compile(r"^/id/(?P<org_id>[A-Za-z0-9]{15,18})/(?P<user_id>[A-Za-z0-9]{15,18})/?$")
RECORD_PAGE = re.compile(r"^/lightning/r/(?P<sobject>\w+)/(?P<record_id>\w+)/view/?$")
ADMIN_PREFIX = "/__emulator/"


def match_route(
    rest: str, method: str, routes: list[tuple[re.Pattern[str], dict[str, tuple[str, str]]]]
    | None = None,
) -> tuple[str, str, dict[str, str]] | None:
    """The (handler, kind, path arguments) for a data path, or None when nothing matches.

    A path that matches with another method answers 405 in the real service; here the caller
    gets ``("method_not_allowed", "read", {})``. ``routes`` defaults to the REST routes
    (``ASYNC_ROUTES`` for Bulk API 1.0).
    """
    for pattern, methods in ROUTES if routes is None else routes:
        match = pattern.match(rest)
        if match is None:
            continue
        if method not in methods:
            return "method_not_allowed", "read", {}
        handler, kind = methods[method]
        return handler, kind, match.groupdict()
    return None
