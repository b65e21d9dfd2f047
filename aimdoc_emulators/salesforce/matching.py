"""Matching methods of Salesforce matching rules, as small pure functions.

Each method turns a raw field value into a normalised one (``None`` for a blank value), scores
two normalised values from 0 to 100 and has the threshold Salesforce documents ("Matching
Methods Used with Matching Rules"); ``keys`` give the match keys a record is indexed under, so a
rule looks at likely candidates only (Salesforce's match keys do the same).

Simplified against Salesforce's fuzzy engine (see docs/emulator-duplicate-rules.md):

- First name: exact, initials (``J`` = ``John``), a small nickname table (Bob = Robert) and
  Jaro-Winkler; threshold 85. Salesforce also uses Metaphone 3 and a larger name-variant list.
- Last name: exact and Jaro-Winkler; threshold 90 (Salesforce: keyboard distance, Metaphone 3).
- Company name: legal suffixes and noise words (Inc, Corp, Ltd, LLC, GmbH, The, ...) and a
  ``.com`` tail removed, then exact, acronym (IBM = International Business Machines) or
  Jaro-Winkler of what is left; threshold 70 on the first two, 92 on Jaro-Winkler (Salesforce's
  syllable alignment is looser than that on short names).
- Email: exact, case-insensitive. Phone: North American sections weighted 10/50/30/10
  (country, area, exchange, line), threshold 80, so numbers that differ only in the last four
  digits match; shorter numbers compare exactly. Street: abbreviations folded (Street = St),
  Jaro-Winkler 80. City: Jaro-Winkler 85. ZIP: US five-digit codes only (Salesforce's fuzzy ZIP
  does not match non-US codes). Title: abbreviations folded, word overlap, threshold 50.
- Exact: case-insensitive equality after trimming.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_DOMAIN_TAIL = re.compile(r"\.(com|net|org|io|co|biz|info)(\.[a-z]{2})?$")
LEGAL_WORDS = frozenset({
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc",
    "llp", "lp", "plc", "gmbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "pty",
    "pte", "oy", "ab", "as", "kk", "the", "and", "group", "holdings",
})
NICKNAMES = (
    ("robert", "bob", "rob", "bobby", "robbie", "bert"),
    ("william", "bill", "will", "billy", "willy", "liam"),
    ("richard", "rick", "dick", "rich", "ricky"),
    ("james", "jim", "jimmy", "jamie"),
    ("john", "jack", "johnny", "jon"),
    ("jonathan", "jon", "jonny"),
    ("michael", "mike", "mikey", "mick"),
    ("elizabeth", "liz", "beth", "betty", "eliza", "lisa", "libby"),
    ("katherine", "kate", "kathy", "katie", "kat", "catherine", "cathy"),
    ("margaret", "maggie", "meg", "peggy", "marge"),
    ("thomas", "tom", "tommy"),
    ("joseph", "joe", "joey"),
    ("charles", "charlie", "chuck", "chas"),
    ("christopher", "chris", "kit"),
    ("christine", "chris", "chrissy", "tina"),
    ("daniel", "dan", "danny"),
    ("david", "dave", "davey"),
    ("edward", "ed", "eddie", "ted", "ned"),
    ("alexander", "alex", "sasha", "xander"),
    ("alexandra", "alex", "sasha", "lexi"),
    ("andrew", "andy", "drew"),
    ("anthony", "tony"),
    ("benjamin", "ben", "benny"),
    ("jennifer", "jen", "jenny"),
    ("jessica", "jess", "jessie"),
    ("matthew", "matt"),
    ("nicholas", "nick", "nicky"),
    ("patricia", "pat", "patty", "trish"),
    ("patrick", "pat", "paddy"),
    ("peter", "pete"),
    ("rebecca", "becky", "becca"),
    ("samuel", "sam", "sammy"),
    ("samantha", "sam", "sammy"),
    ("stephen", "steve", "steven"),
    ("susan", "sue", "susie"),
    ("timothy", "tim", "timmy"),
    ("victoria", "vicky", "tori"),
    ("deborah", "deb", "debbie"),
    ("gregory", "greg"),
    ("kenneth", "ken", "kenny"),
    ("ronald", "ron", "ronnie"),
    ("donald", "don", "donny"),
    ("lawrence", "larry"),
    ("frederick", "fred", "freddie"),
)
_STREET_WORDS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "boulevard": "blvd",
    "drive": "dr", "lane": "ln", "court": "ct", "place": "pl", "suite": "ste", "square": "sq",
    "highway": "hwy", "parkway": "pkwy", "north": "n", "south": "s", "east": "e", "west": "w",
    "apartment": "apt", "floor": "fl",
}
_TITLE_WORDS = {
    "vp": ("vice", "president"), "svp": ("senior", "vice", "president"),
    "evp": ("executive", "vice", "president"), "ceo": ("chief", "executive", "officer"),
    "cto": ("chief", "technology", "officer"), "cfo": ("chief", "financial", "officer"),
    "coo": ("chief", "operating", "officer"), "cmo": ("chief", "marketing", "officer"),
    "sr": ("senior",), "jr": ("junior",), "mgr": ("manager",), "dir": ("director",),
    "eng": ("engineer",), "mktg": ("marketing",),
}
_TITLE_NOISE = frozenset({"of", "and", "the", "for", "&"})


def _build_nicknames() -> dict[str, frozenset[str]]:
    roots: dict[str, set[str]] = {}
    for group in NICKNAMES:
        for name in group:
            roots.setdefault(name, set()).add(group[0])
    return {name: frozenset(found) for name, found in roots.items()}


_NICKNAME_ROOTS = _build_nicknames()


def fold(text: object) -> str:
    """Lower-case ASCII words: accents dropped, anything else but letters and digits a space."""
    if text is None:
        return ""
    value = str(text)
    if not value.isascii():
        value = unicodedata.normalize("NFKD", value)
        value = "".join(c for c in value if not unicodedata.combining(c))
    return " ".join(_NON_ALNUM.split(value.lower())).strip()


@lru_cache(maxsize=1 << 16)
def jaro_winkler(left: str, right: str) -> float:
    """Jaro-Winkler similarity (0 to 1) with the usual 0.1 prefix scale over 4 characters."""
    if left == right:
        return 1.0
    len_l, len_r = len(left), len(right)
    if not len_l or not len_r:
        return 0.0
    window = max(0, max(len_l, len_r) // 2 - 1)
    # bit j of positions[c]: right[j] == c; each character of left takes the first unused
    # position of its character in right within the window (the lowest bit of what is left)
    positions: dict[str, int] = {}
    for j, char in enumerate(right):
        positions[char] = positions.get(char, 0) | 1 << j
    used = 0
    matched_l = []
    for i, char in enumerate(left):
        free = positions.get(char, 0) & ~used
        if free:
            free &= (1 << min(len_r, i + window + 1)) - (1 << max(0, i - window))
            if free:
                used |= free & -free
                matched_l.append(char)
    matches = len(matched_l)
    if not matches:
        return 0.0
    matched_r = [right[j] for j in range(len_r) if used >> j & 1]
    transpositions = sum(a != b for a, b in zip(matched_l, matched_r, strict=True)) / 2
    jaro = (matches / len_l + matches / len_r + (matches - transpositions) / matches) / 3
    prefix = 0
    for a, b in zip(left[:4], right[:4], strict=False):
        if a != b:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def _similarity(left: str, right: str) -> int:
    return round(jaro_winkler(left, right) * 100)


_SOUNDEX = str.maketrans("bfpvcgjkqsxzdtlmnr", "111122222222334556")


@lru_cache(maxsize=1 << 16)
def phonetic_key(word: str) -> str:
    """A Soundex-like key of a folded name (first letter + consonant classes, 4 long)."""
    letters = word.replace(" ", "")
    if not letters:
        return ""
    coded = letters.translate(_SOUNDEX)
    key, last = letters[0], coded[0]
    for char in coded[1:]:
        if char.isdigit() and char != last:
            key += char
        if char not in "hw":
            last = char
    return (key + "000")[:4]


# ---------------------------------------------------------------------------- names
@lru_cache(maxsize=1 << 16)
def first_name_score(left: str, right: str) -> int:
    """Fuzzy: First Name (exact, initials, name variants, Jaro-Winkler)."""
    if left == right:
        return 100
    if (len(left) == 1 or len(right) == 1) and left[0] == right[0]:
        return 100
    roots = _NICKNAME_ROOTS.get(left)
    if roots and roots & _NICKNAME_ROOTS.get(right, frozenset()):
        return 100
    return _similarity(left, right)


def name_initial(first: str) -> str:
    """The first letter used in the person match key (of the nickname's root if any)."""
    roots = _NICKNAME_ROOTS.get(first)
    return min(roots)[0] if roots and len(roots) == 1 else first[:1]


@lru_cache(maxsize=1 << 16)
def last_name_score(left: str, right: str) -> int:
    """Fuzzy: Last Name (exact, Jaro-Winkler)."""
    return 100 if left == right else _similarity(left, right)


# ---------------------------------------------------------------------------- company
@lru_cache(maxsize=1 << 16)
def company_name(text: str) -> str:
    """A company name without legal suffixes, noise words and a ``.com`` tail."""
    raw = str(text).strip().lower()
    raw = _DOMAIN_TAIL.sub("", raw.removeprefix("www."))
    words = [w for w in fold(raw.replace("&", " and ")).split() if w not in LEGAL_WORDS]
    return " ".join(words) or fold(raw)


def acronym(name: str) -> str:
    """The initials of a multi-word name (``international business machines`` -> ``ibm``)."""
    words = name.split()
    return "".join(w[0] for w in words) if len(words) > 1 else ""


@lru_cache(maxsize=1 << 16)
def company_score(left: str, right: str) -> int:
    """Fuzzy: Company Name (suffixes removed; exact, acronym, then Jaro-Winkler)."""
    if left == right:
        return 100
    if left.replace(" ", "") == right.replace(" ", ""):
        return 100
    if acronym(left) == right.replace(" ", "") or acronym(right) == left.replace(" ", ""):
        return 100
    score = _similarity(left, right)
    return score if score >= 92 else min(score, 60)


def company_keys(name: str) -> tuple[str, ...]:
    """Match keys of a company: the name without spaces, and its acronym."""
    squeezed = name.replace(" ", "")
    initials = acronym(name)
    return (squeezed, initials) if initials and initials != squeezed else (squeezed,)


# ---------------------------------------------------------------------------- phone
def phone_parts(text: str) -> tuple[str, ...] | None:
    """(country, area, exchange, line) of a North American number, else (digits,)."""
    digits = "".join(c for c in str(text) if c.isdigit())
    if not digits:
        return None
    if len(digits) == 10:
        return ("1", digits[:3], digits[3:6], digits[6:])
    if len(digits) == 11 and digits[0] == "1":
        return ("1", digits[1:4], digits[4:7], digits[7:])
    if len(digits) > 10:
        return (digits[:-10], digits[-10:-7], digits[-7:-4], digits[-4:])
    return (digits,)


_PHONE_WEIGHTS = (10, 50, 30, 10)


def phone_score(left: tuple[str, ...], right: tuple[str, ...]) -> int:
    """Fuzzy: Phone, sections weighted 10/50/30/10; short numbers compare exactly."""
    if len(left) != len(right):
        return 0
    if len(left) == 1:
        return 100 if left == right else 0
    return sum(w for w, a, b in zip(_PHONE_WEIGHTS, left, right, strict=True) if a == b)


def phone_key(parts: tuple[str, ...]) -> tuple[str, ...]:
    """The phone match key: the number without its last four digits."""
    return ("".join(parts[:3]),) if len(parts) == 4 else parts


# ---------------------------------------------------------------------------- address, title
@lru_cache(maxsize=1 << 16)
def street_name(text: str) -> str:
    """A street with its words abbreviated (``123 Maple Avenue`` -> ``123 maple ave``)."""
    return " ".join(_STREET_WORDS.get(w, w) for w in fold(text).split())


def zip_code(text: str) -> str | None:
    """The five-digit US ZIP code, or None (other postal codes never match fuzzily)."""
    value = str(text).strip()
    match = re.fullmatch(r"(\d{5})(?:[- ]?\d{4})?", value)
    return match.group(1) if match else None


@lru_cache(maxsize=1 << 16)
def title_words(text: str) -> tuple[str, ...]:
    """A job title's words, abbreviations spelled out, small words dropped."""
    words: list[str] = []
    for word in fold(text).split():
        words.extend(_TITLE_WORDS.get(word, (word,)))
    return tuple(w for w in words if w not in _TITLE_NOISE)


def title_score(left: tuple[str, ...], right: tuple[str, ...]) -> int:
    """Fuzzy: Title, as the share of words in common (acronyms spelled out)."""
    if left == right:
        return 100
    a, b = set(left), set(right)
    if not a or not b:
        return 0
    return round(100 * len(a & b) / len(a | b))


# ---------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    """A matching method: normalise, score, threshold, match keys."""

    name: str
    normalize: Callable[[str], object]
    score: Callable[[object, object], int]
    threshold: int
    keys: Callable[[object], tuple]
    fuzzy: bool = True


@lru_cache(maxsize=1 << 16)
def _text(value: str) -> str | None:
    folded = fold(value)
    return folded or None


def _exact(value: str) -> str | None:
    text = str(value).strip().casefold()
    return text or None


def _exact_score(left: object, right: object) -> int:
    return 100 if left == right else 0


def _nonblank(func: Callable[[str], object]) -> Callable[[str], object]:
    def normalize(value: str) -> object:
        result = func(value)
        return result or None

    return normalize


METHODS: dict[str, Method] = {
    "exact": Method("exact", _exact, _exact_score, 100, lambda v: (v,), fuzzy=False),
    "email": Method("email", _exact, _exact_score, 100, lambda v: (v,), fuzzy=False),
    "first_name": Method("first_name", _text, first_name_score, 85,
                         lambda v: (name_initial(v),)),
    "last_name": Method("last_name", _text, last_name_score, 90,
                        lambda v: (phonetic_key(v),)),
    "company": Method("company", _nonblank(company_name), company_score, 70, company_keys),
    "phone": Method("phone", phone_parts, phone_score, 80, phone_key),
    "street": Method("street", _nonblank(street_name),
                     lambda a, b: 100 if a == b else _similarity(a, b), 80,
                     lambda v: (v.split()[0],)),
    "city": Method("city", _text, lambda a, b: 100 if a == b else _similarity(a, b), 85,
                   lambda v: (v[:6],)),
    "zip": Method("zip", zip_code, _exact_score, 100, lambda v: (v,)),
    "title": Method("title", _nonblank(title_words), title_score, 50,
                    lambda v: (v[0] if v else "",)),
}
METHOD_ALIASES = {
    "fuzzy: first name": "first_name", "firstname": "first_name",
    "fuzzy: last name": "last_name", "lastname": "last_name",
    "fuzzy: company name": "company", "companyname": "company",
    "fuzzy: phone": "phone", "fuzzy: street": "street", "fuzzy: city": "city",
    "fuzzy: zip": "zip", "fuzzy: title": "title",
}


def method(name: str) -> Method:
    """A method by name (``exact``, ``first_name``, ... or Salesforce's ``Fuzzy: City``)."""
    key = str(name).strip().lower()
    key = METHOD_ALIASES.get(key, key)
    if key not in METHODS:
        raise ValueError(f"unknown matching method {name!r}; one of {sorted(METHODS)}")
    return METHODS[key]
