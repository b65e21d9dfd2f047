"""Salesforce record ids: key prefix + sequence, and the 18-character checksum form."""

from __future__ import annotations

import functools
import re
import string

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ID_PATTERN = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Za-z0-5]{3})?$")
ORG_ID = "00D5e000000EMUL"
USER_ID = "0055e000000EMUL"  # the API (integration) user every login runs as
ADMIN_ID = "0055e000000ADMN"  # the org's admin: seeded records were made by people


@functools.lru_cache(maxsize=1 << 16)
def to18(id15: str) -> str:
    """Append the case-insensitivity checksum to a 15-character id (18 stays as is)."""
    if len(id15) == 18:
        return id15
    if len(id15) != 15:
        raise ValueError(f"not a Salesforce id: {id15!r}")
    return id15 + _checksum(id15[0:5]) + _checksum(id15[5:10]) + _checksum(id15[10:15])


@functools.lru_cache(maxsize=1 << 16)
def _checksum(chunk: str) -> str:
    """The checksum character of five id characters: a bit per upper-case letter."""
    bits = 0
    for position in range(5):
        if "A" <= chunk[position] <= "Z":
            bits |= 1 << position
    return _CHECKSUM_ALPHABET[bits]


def normalize_id(value: str) -> str | None:
    """The 18-character form of a well-formed 15 or 18 character id, else None.

    A 15-character id is case-sensitive; an 18-character one is not: its checksum restores
    the case of the first 15 characters (so a lower-cased 18-character id still resolves).
    """
    if not isinstance(value, str) or len(value) > 19:  # 19: 18 and the newline ``$`` allows
        return None
    return _normalize_text(value)


@functools.lru_cache(maxsize=1 << 16)
def _normalize_text(value: str) -> str | None:
    """``normalize_id`` of a string (a pure function, so cached)."""
    if not ID_PATTERN.match(value):
        return None
    if len(value) == 15:
        return to18(value)
    if to18(value[:15]) == value:  # already in canonical form (the common case)
        return value
    chars = list(value[:15])
    for chunk in range(3):
        bits = _CHECKSUM_ALPHABET.index(value[15 + chunk].upper())
        for position in range(5):
            char, upper = chars[chunk * 5 + position], bool(bits >> position & 1)
            if upper and not char.isalpha():
                return None
            chars[chunk * 5 + position] = char.upper() if upper else char.lower()
    return to18("".join(chars))


def _base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return digits.rjust(width, "0")


def make_id(key_prefix: str, sequence: int) -> str:
    """An 18-character id such as ``00Q5e00000000AbAAA`` for the n-th record of a prefix."""
    return to18(f"{key_prefix}5e0{_base62(sequence, 9)}")


ORG_ID_18 = to18(ORG_ID)
USER_ID_18 = to18(USER_ID)
ADMIN_ID_18 = to18(ADMIN_ID)
