r"""Tokenizer for the emulator's SOQL subset, and Salesforce-shaped query errors.

String literals are decoded exactly as Salesforce does (``\n \N \r \R \t \T \b \B \f \F
\" \' \\ \uXXXX``; ``\%`` and ``\_`` are kept for LIKE patterns); any other backslash
sequence, a double-quoted string or a character outside the grammar is a MALFORMED_QUERY.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_STATEMENT_CHARS = 100_000
MAX_LITERAL_CHARS = 4_000

IDENT = "ident"
STRING = "string"
NUMBER = "number"
DATE = "date"
DATETIME = "datetime"
DATE_N = "date_n"
PUNCT = "punct"
EOF = "eof"

_SIMPLE_ESCAPES = {
    "n": "\n",
    "N": "\n",
    "r": "\r",
    "R": "\r",
    "t": "\t",
    "T": "\t",
    "b": "\b",
    "B": "\b",
    "f": "\f",
    "F": "\f",
    '"': '"',
    "'": "'",
}
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:])")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DATE_N = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(\d+)")
_PUNCT = ("!=", "<=", ">=", "=", "<", ">", "(", ")", ",", ".")
_WHITESPACE = " \t\r\n\f"


class SoqlError(Exception):
    """A query the real service rejects: ``error_code`` and Salesforce's ``message``."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


def error_at(code: str, soql: str, pos: int, detail: str) -> SoqlError:
    """An error whose message points at ``pos`` as Salesforce does (Row/Column are 1-based)."""
    pos = max(0, min(pos, len(soql)))
    row = soql.count("\n", 0, pos) + 1
    line_start = soql.rfind("\n", 0, pos) + 1
    line_end = soql.find("\n", pos)
    line = soql[line_start : len(soql) if line_end < 0 else line_end]
    column = pos - line_start + 1
    caret = " " * (column - 1) + "^"
    return SoqlError(code, f"\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{detail}")


def malformed(soql: str, pos: int, detail: str) -> SoqlError:
    """A MALFORMED_QUERY pointing at ``pos``."""
    return error_at("MALFORMED_QUERY", soql, pos, detail)


@dataclass(frozen=True)
class Token:
    """One lexeme: its kind, source text and offset, plus the decoded value for literals."""

    kind: str
    text: str
    pos: int
    value: object = None
    pattern: str | None = None
    like_escape: str = ""

    def keyword(self, *words: str) -> bool:
        """True when this is an identifier spelling one of ``words`` (any case)."""
        return self.kind == IDENT and self.text.upper() in words

    def is_punct(self, *symbols: str) -> bool:
        """True when this is one of the punctuation ``symbols``."""
        return self.kind == PUNCT and self.text in symbols

    def shown(self) -> str:
        """The token as error messages quote it."""
        return "<EOF>" if self.kind == EOF else f"'{self.text}'"


def tokenize(soql: str) -> list[Token]:
    """Split a statement into tokens, ending with an EOF token."""
    if len(soql) > MAX_STATEMENT_CHARS:
        raise SoqlError(
            "MALFORMED_QUERY",
            f"SOQL statements cannot be longer than {MAX_STATEMENT_CHARS:,} characters.",
        )
    tokens: list[Token] = []
    pos = 0
    while True:
        while pos < len(soql) and soql[pos] in _WHITESPACE:
            pos += 1
        if pos >= len(soql):
            tokens.append(Token(EOF, "", pos))
            return tokens
        token = _next_token(soql, pos)
        tokens.append(token)
        pos += len(token.text)


def _next_token(soql: str, pos: int) -> Token:
    char = soql[pos]
    if char == "'":
        return _string(soql, pos)
    if char.isdigit() or (char in "+-" and soql[pos + 1 : pos + 2].isdigit()):
        return _numeric(soql, pos)
    if char.isalpha() or char == "_":
        match = _DATE_N.match(soql, pos)
        if match:
            return Token(DATE_N, match.group(0), pos, (match.group(1), int(match.group(2))))
        match = _IDENT.match(soql, pos)
        assert match is not None
        return Token(IDENT, match.group(0), pos)
    for symbol in _PUNCT:
        if soql.startswith(symbol, pos):
            return Token(PUNCT, symbol, pos)
    raise malformed(soql, pos, f"line 1:{pos} no viable alternative at character '{char}'")


def _numeric(soql: str, pos: int) -> Token:
    match = _DATETIME.match(soql, pos)
    if match:
        return Token(DATETIME, match.group(0), pos, match.groups())
    match = _DATE.match(soql, pos)
    if match:
        return Token(DATE, match.group(0), pos, match.group(0))
    match = _NUMBER.match(soql, pos)
    if match is None:
        raise malformed(soql, pos, f"unexpected token: '{soql[pos]}'")
    text = match.group(0)
    return Token(NUMBER, text, pos, float(text) if "." in text else int(text))


_PLAIN_RUN = re.compile(r"[^'\\]+")
_PLAIN_STRING = re.compile(r"'([^'\\]*)'")  # a closed literal with no escape in it

def _string(soql: str, start: int) -> Token:
    r"""Decode a single-quoted literal; keep a LIKE pattern with ``\%``/``\_`` still escaped."""
    plain = _PLAIN_STRING.match(soql, start)
    if plain is not None and len(plain.group(1)) <= MAX_LITERAL_CHARS:
        value = plain.group(1)  # what the loop below decodes such a literal to, in one step
        return Token(STRING, plain.group(0), start, value, value, "")
    value: list[str] = []
    pattern: list[str] = []
    like_escape = ""
    pos = start + 1
    while True:
        if pos >= len(soql):
            raise malformed(soql, pos, "mismatched character '<EOF>' expecting '''")
        run = _PLAIN_RUN.match(soql, pos)
        if run:  # characters that stand for themselves, taken a run at a time
            value.append(run.group(0))
            pattern.append(run.group(0))
            pos = run.end()
            continue
        if soql[pos] == "'":
            break
        decoded, width, kept = _escape(soql, start, pos)
        if kept:
            like_escape = like_escape or kept
            pattern.append(kept)
        else:
            value.append(decoded)
            pattern.append("\\\\" if decoded == "\\" else decoded)
        pos += width
    if sum(map(len, value)) > MAX_LITERAL_CHARS:
        raise malformed(
            soql, start, f"String literal exceeds the maximum of {MAX_LITERAL_CHARS} characters"
        )
    text = soql[start : pos + 1]
    return Token(STRING, text, start, "".join(value), "".join(pattern), like_escape)


def _escape(soql: str, start: int, pos: int) -> tuple[str, int, str]:
    """Decode the escape at ``pos``: (character, width, LIKE-only escape kept as written)."""
    follower = soql[pos + 1 : pos + 2]
    if follower in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[follower], 2, ""
    if follower == "\\":
        return "\\", 2, ""
    if follower in ("%", "_"):
        return follower, 2, "\\" + follower
    if follower == "u":
        digits = soql[pos + 2 : pos + 6]
        if re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
            return chr(int(digits, 16)), 6, ""
    end = soql.find("'", pos + 2)
    literal = soql[start + 1 : end if end >= 0 else len(soql)]
    raise malformed(
        soql,
        start,
        f"Invalid string literal '{literal}'. Illegal character sequence "
        f"'\\{follower}' in string literal.",
    )
