"""PromQL lexer: tokens, durations and Go-style quoted strings.

Fidelity ledger
- Upstream: Prometheus 2.42 promql/parser/lex.go, model/time.go ParseDuration, Go strconv.Unquote.
- Modelled: numbers (decimal, exponent, hex; Inf and NaN are identifiers the parser turns into numbers), durations
  such as 1h30m with units y w d h m s ms in decreasing order, "double", 'single' and `raw` strings with Go
  escapes, `#` comments, identifiers with colons.
- Not modelled: the lexer's position-accurate error messages (ours name the offending token and its offset).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""(?P<ws>\s+|\#[^\n]*)
    |(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
    |(?P<duration>(?:\d+(?:ms|[smhdwy]))+)(?![\w.])
    |(?P<number>(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))(?![\w:.])
    |(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
    |(?P<op>==|!=|=~|!~|<=|>=|[-+*/%^(){}\[\],=<>@:])""",
    re.VERBOSE,
)
_UNIT_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000,
            "ms": 1}
_UNIT_ORDER = ("y", "w", "d", "h", "m", "s", "ms")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"',
            "'": "'"}
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.DOTALL)
class PromQLSyntaxError(Exception):
    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"expected {expected}, got {got}")
        self.expected, self.got = expected, got


@dataclass(frozen=True)
class Token:
    kind: str  # string, duration, number, ident, op, eof
    text: str
    pos: int

    def describe(self) -> str:
        return "end of input" if self.kind == "eof" else f"{self.text!r} at offset {self.pos}"


def parse_duration_ms(text: str) -> int:
    """`1h30m` to milliseconds; units must appear at most once and from largest to smallest."""
    parts = re.findall(r"(\d+)(ms|[smhdwy])", text)
    units = [u for _, u in parts]
    order_ok = units == sorted(set(units), key=_UNIT_ORDER.index)
    if not parts or "".join(n + u for n, u in parts) != text or not order_ok:
        raise PromQLSyntaxError("a duration such as 30s, 5m or 1h30m", repr(text))
    return sum(int(n) * _UNIT_MS[u] for n, u in parts)


def tokens(text: str) -> list[Token]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise PromQLSyntaxError("a PromQL token", f"{text[pos]!r} at offset {pos}")
        if m.lastgroup != "ws":
            out.append(Token(m.lastgroup or "", m.group(), pos))
        pos = m.end()
    out.append(Token("eof", "", len(text)))
    return out


def unquote(token: Token) -> str:
    body = token.text[1:-1]
    if token.text[0] == "`":
        return body

    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc[0] in "xuU":
            return chr(int(esc[1:], 16))
        if esc[0].isdigit():
            return chr(int(esc, 8))
        if esc not in _ESCAPES:
            raise PromQLSyntaxError("a valid escape sequence", f"\\{esc} in {token.describe()}")
        return _ESCAPES[esc]

    return _ESCAPE.sub(one, body)
