"""The bytes that are signed, and the strict reading of bytes received from a peer.

Signatures are over RFC 8785 (JSON Canonicalization Scheme) bytes, made by the `rfc8785`
package: `json.dumps(sort_keys=True)` is not JCS (it orders keys differently outside the Basic
Multilingual Plane and writes `1.0` where JCS writes `1`). A peer's bytes are verified as received,
then parsed strictly: valid UTF-8, no duplicate keys, no floats (decimals travel as strings), no
integer beyond 2^53, no nesting deeper than MAX_DEPTH, and the document must already be canonical,
so one document has exactly one byte form. A string holding a lone surrogate (a JSON escape can
write one) is refused, never passed on to an encoder that would raise something else.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

from directory.domain.errors import FederationError

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 16
# Arrays and objects a document may hold: one per BYTES_PER_CONTAINER of it, beyond the first
# FEW_CONTAINERS. Python builds each as an object of 56 bytes or more, so a page of nothing but
# `[[[[]]]]` (a container every two bytes) under the 16 MiB cap took 930 MB and held the
# interpreter for 5 s before its shape was refused (a hostile peer's read). A record's body holds
# one every 30 bytes or more (a coverage item, `{"place":"KE","presence":"present"}`, is 36).
BYTES_PER_CONTAINER = 16
FEW_CONTAINERS = 4096


class NotCanonical(FederationError):
    """Bytes from a peer that are not strict, canonical JSON."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


def canonical(document: Any) -> bytes:
    """RFC 8785 bytes of a document made of dicts, lists, strings, bools, None and safe integers."""
    if not _plain(document, 0):
        _check(document, "document", 0)  # says what is wrong and where (or accepts str and int subclasses)
    return _dumps(document, "document")


def _plain(value: Any, depth: int) -> bool:
    """`_check` without building a path for every member: most documents pass, and this is 4x faster."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    if depth >= MAX_DEPTH:
        return False
    if kind is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    if kind is list:
        return all(_plain(v, depth + 1) for v in value)
    return False


def _dumps(document: Any, where: str) -> bytes:
    """RFC 8785 bytes of a document already known to hold no float and no unsafe integer.

    Without floats, JCS differs from `json.dumps(sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)` only in the order of keys holding characters outside the Basic
    Multilingual Plane (JCS compares UTF-16 code units, Python code points): for those the `rfc8785`
    package writes the bytes; otherwise the C encoder does, about five times faster
    (tests/test_federation_primitives.py compares the two). A lone surrogate (which a JSON escape such
    as `\\ud800` produces) is not Unicode text and has no UTF-8 form: RFC 8785 (3.2.2.2) says to stop
    with an error, and this one is the reader's own."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NotCanonical(where, f"a string holds the lone surrogate U+{ord(text[exc.start]):04X}, "
                                  "which is not Unicode text") from None
    if text.isascii() or max(text) <= "\uffff":
        return data
    return bytes(rfc8785.dumps(document))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise NotCanonical("document", f"the key {key!r} appears twice")
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise NotCanonical("document", f"the number {text} is not an integer; decimals travel as strings")


def _integer(text: str) -> int:
    """An integer of at most 16 digits (2^53 - 1 has 16): a longer one is refused before Python
    converts it, which past 4,300 digits raises an error of its own and before that costs time."""
    if len(text.lstrip("-")) > 16:
        raise NotCanonical("document", f"an integer of {len(text.lstrip('-'))} digits is beyond 2^53")
    return int(text)


def _no_constant(text: str) -> Any:
    raise NotCanonical("document", f"{text} is not JSON")


def _check(value: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise NotCanonical(where, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise NotCanonical(where, f"the integer {value} is beyond 2^53")
        return
    if isinstance(value, float):
        raise NotCanonical(where, "a float; decimals travel as strings")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, f"{where}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(where, f"the key {key!r} is not a string")
            _check(item, f"{where}.{key}", depth + 1)
        return
    raise NotCanonical(where, f"a {type(value).__name__} is not JSON")


# as JSON ends a string: at its first quote not escaped; or at the end, where a string is not ended
# (an injection read: without that, each escaped quote of an unended string began another scan to
# the end, and 128 KB of them took 67 s)
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.S)


def _containers(data: bytes) -> int:
    """The arrays and objects a JSON text opens outside its strings (exact for valid JSON; past
    where the text is not JSON, an unended string takes the rest, and the parser stops there)."""
    bare = _STRING.sub(b'""', data)
    return bare.count(b"[") + bare.count(b"{")


def parse(data: bytes, where: str = "document") -> Any:
    """A peer's document from its exact bytes, or NotCanonical saying what is wrong and where."""
    most = FEW_CONTAINERS + len(data) // BYTES_PER_CONTAINER
    # brackets within strings too, never fewer than there are; where that is too many, only those
    # outside strings (slower: a record's text may hold brackets, and refusing the page it is on
    # stopped every peer reading our feed past it, as a crash read found)
    if data.count(b"[") + data.count(b"{") > most and (containers := _containers(data)) > most:
        raise NotCanonical(where, f"{containers} arrays and objects in {len(data)} bytes: more than a document "
                                  f"of records holds (one every {BYTES_PER_CONTAINER} bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotCanonical(where, f"not UTF-8 at byte {exc.start}") from None
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_no_float,
                              parse_int=_integer, parse_constant=_no_constant)
    except NotCanonical as exc:
        raise NotCanonical(where, exc.reason) from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise NotCanonical(where, f"not JSON: {exc}") from None
    if not _plain(document, 0):
        _check(document, where, 0)
    if _dumps(document, where) != data:
        raise NotCanonical(where, "not in canonical form (RFC 8785)")
    return document
