"""Org-level resources: the versions list, the version's resource directory, the identity URL.

- ``GET /services/data``: every API version the emulator answers, oldest first, each as
  ``{"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}`` (no login).
- ``GET /services/data/vXX.X/``: the resource directory, relative URLs keyed by resource name
  plus ``identity`` (the absolute identity URL), as the real service lists them.
- ``GET|POST /id/{orgId}/{userId}`` (``Authorization: Bearer`` or ``?oauth_token=``): the logged-in
  user and the org's endpoint URLs with a ``{version}`` placeholder. A bad token answers 403
  ``Bad_OAuth_Token``, ids that are not the session's user 404 ``Bad_Id`` (plain text). The
  OpenID Connect form is at ``/services/oauth2/userinfo``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimdoc_emulators.salesforce.errors import ApiError
from aimdoc_emulators.salesforce.ids import ORG_ID_18, USER_ID_18, normalize_id

if TYPE_CHECKING:
    from aimdoc_emulators.salesforce.models import SalesforceBackend

OLDEST_VERSION = 20
NEWEST_VERSION = 62
_SEASONS = ("Winter", "Spring", "Summer")
RESOURCE_NAMES = (
    "tooling", "metadata", "eclair", "folders", "prechatForms", "contact-tracing", "jsonxform",
    "chatter", "tabs", "appMenu", "quickActions", "queryAll", "commerce", "wave", "iot",
    "analytics", "search", "identity", "composite", "parameterizedSearch", "fingerprint",
    "theme", "nouns", "domino", "event", "serviceTemplates", "recent", "connect", "licensing",
    "limits", "process", "dedupe", "async-queries", "query", "jobs", "match", "emailConnect",
    "compactLayouts", "knowledgeManagement", "sobjects", "actions", "support",
)


def release_label(major: int) -> str:
    """The release name of an API version: 59 -> ``Winter '24``, 60 -> ``Spring '24``."""
    index = major - OLDEST_VERSION
    return f"{_SEASONS[index % 3]} '{11 + index // 3:02d}"


def versions() -> list[dict[str, str]]:
    """``GET /services/data``: the versions list."""
    return [
        {"label": release_label(major), "url": f"/services/data/v{major}.0",
         "version": f"{major}.0"}
        for major in range(OLDEST_VERSION, NEWEST_VERSION + 1)
    ]


def identity_url(base_url: str) -> str:
    """The identity URL of the API user, as the token response's ``id``."""
    return f"{base_url}/id/{ORG_ID_18}/{USER_ID_18}"


def version_resources(version: str, base_url: str) -> dict[str, str]:
    """``GET /services/data/vXX.X/``: resource name -> URL."""
    base = f"/services/data/v{version}"
    return {name: identity_url(base_url) if name == "identity" else f"{base}/{name}"
            for name in RESOURCE_NAMES}


def check_identity_path(org_id: str, user_id: str) -> None:
    """404 ``Bad_Id`` unless the path names the emulated org and its API user."""
    if normalize_id(org_id) != ORG_ID_18 or normalize_id(user_id) != USER_ID_18:
        raise ApiError(404, raw_body="Bad_Id")


def identity(backend: SalesforceBackend, base_url: str) -> dict[str, Any]:
    """The identity service's JSON for the API user."""
    user = backend.get("User", USER_ID_18)
    endpoint = f"{base_url}/services"
    urls = {
        "enterprise": f"{endpoint}/Soap/c/{{version}}/{ORG_ID_18}",
        "metadata": f"{endpoint}/Soap/m/{{version}}/{ORG_ID_18}",
        "partner": f"{endpoint}/Soap/u/{{version}}/{ORG_ID_18}",
        "rest": f"{endpoint}/data/v{{version}}/",
        "sobjects": f"{endpoint}/data/v{{version}}/sobjects/",
        "search": f"{endpoint}/data/v{{version}}/search/",
        "query": f"{endpoint}/data/v{{version}}/query/",
        "recent": f"{endpoint}/data/v{{version}}/recent/",
        "tooling_soap": f"{endpoint}/Soap/T/{{version}}/{ORG_ID_18}",
        "tooling_rest": f"{endpoint}/data/v{{version}}/tooling/",
        "profile": f"{base_url}/{USER_ID_18}",
        "feeds": f"{endpoint}/data/v{{version}}/chatter/feeds",
        "groups": f"{endpoint}/data/v{{version}}/chatter/groups",
        "users": f"{endpoint}/data/v{{version}}/chatter/users",
        "feed_items": f"{endpoint}/data/v{{version}}/chatter/feed-items",
        "feed_elements": f"{endpoint}/data/v{{version}}/chatter/feed-elements",
        "custom_domain": base_url,
    }
    return {
        "id": identity_url(base_url),
        "asserted_user": True,
        "user_id": USER_ID_18,
        "organization_id": ORG_ID_18,
        "username": user.get("Username"),
        "nick_name": str(user.get("Username") or "").partition("@")[0],
        "display_name": user.get("Name"),
        "email": user.get("Email"),
        "email_verified": True,
        "first_name": user.get("FirstName"),
        "last_name": user.get("LastName"),
        "timezone": "GMT",
        "photos": {"picture": f"{base_url}/profilephoto/005/F",
                   "thumbnail": f"{base_url}/profilephoto/005/T"},
        "addr_street": None, "addr_city": None, "addr_state": None, "addr_country": None,
        "addr_zip": None, "mobile_phone": None, "mobile_phone_verified": False,
        "is_lightning_login_user": False,
        "status": {"created_date": None, "body": None},
        "urls": urls,
        "active": bool(user.get("IsActive", True)),
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "last_modified_date": user.get("LastModifiedDate"),
        "is_app_installed": True,
    }


def userinfo(backend: SalesforceBackend, base_url: str) -> dict[str, Any]:
    """``/services/oauth2/userinfo``: the same facts with OpenID Connect claim names."""
    info = identity(backend, base_url)
    return {
        "sub": info["id"], "user_id": USER_ID_18, "organization_id": ORG_ID_18,
        "preferred_username": info["username"], "nickname": info["nick_name"],
        "name": info["display_name"], "email": info["email"], "email_verified": True,
        "given_name": info["first_name"], "family_name": info["last_name"],
        "zoneinfo": info["timezone"], "photos": info["photos"],
        "profile": info["urls"]["profile"], "picture": info["photos"]["picture"],
        "address": {}, "is_salesforce_integration_user": False, "urls": info["urls"],
        "active": info["active"], "user_type": "STANDARD", "language": "en_US",
        "locale": "en_US", "utcOffset": 0, "updated_at": info["last_modified_date"],
        "is_app_installed": True,
    }
