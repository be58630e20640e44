"""Directory ids: the one check every id passes where it is read (our DIRECTORY_ID, a peer's root).

A directory id is the namespace of its records (`<directory>:<local>`) and the publisher a reader
sees beside them, so a hostile peer that signs everything correctly could still pick an id that
reaches into another namespace (`victim:evil` makes records `victim:evil:...`), or one a person
reads as ours or another peer's (a Cyrillic letter o, `front1ine` for `frontline`). So an id is ASCII
only, like a DNS name: lower-case letters, digits, dots and dashes, each dot-separated part
starting and ending with a letter or digit, at most 63 characters. A new peer's id must also be
none of ours or a known peer's, no prefix of one nor have one as its prefix, and not confusable
with one (the same ASCII skeleton, `skeleton`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from directory.domain.errors import DirectoryError

MAX_LENGTH = 63
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
# Characters read as one another, folded to one; then pairs that read as one letter.
_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l", "j": "l", "5": "s", "2": "z", "8": "b", "6": "b",
                       "9": "g", "q": "g", "3": "e", "4": "a", "7": "t", "u": "v"})
_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))


class BadDirectoryId(DirectoryError):
    """A directory id refused: names the id (non-ASCII shown escaped) and why."""

    def __init__(self, directory_id: object, reason: str) -> None:
        super().__init__(f"directory id {directory_id!a} refused: {reason}")
        self.directory_id = directory_id
        self.reason = reason


def check(directory_id: object) -> str:
    """The id if it has the allowed syntax; BadDirectoryId saying what is wrong otherwise."""
    if not isinstance(directory_id, str) or not directory_id:
        raise BadDirectoryId(directory_id, "it must be a non-empty string")
    if not directory_id.isascii():
        raise BadDirectoryId(directory_id, "it holds characters that are not ASCII (look-alikes of letters)")
    if ":" in directory_id:
        raise BadDirectoryId(directory_id, "':' separates a directory id from a record's own id")
    if len(directory_id) > MAX_LENGTH:
        raise BadDirectoryId(directory_id, f"it is longer than {MAX_LENGTH} characters")
    if not all(_LABEL.match(part) for part in directory_id.split(".")):
        raise BadDirectoryId(directory_id, "it must be lower-case letters, digits, dots and dashes, each part "
                                           "between dots starting and ending with a letter or digit")
    return directory_id


def skeleton(directory_id: str) -> str:
    """What the id looks like to a reader: dots and dashes dropped, look-alike characters folded."""
    folded = directory_id.lower().replace("-", "").replace(".", "").translate(_FOLD)
    for pair, letter in _PAIRS:
        folded = folded.replace(pair, letter)
    return folded


def check_new_peer(directory_id: object, ours: str, known: Iterable[str], held: Iterable[str] = ()) -> str:
    """A peer's id checked before it is added: valid, and not ours, a prefix of a known id or confusable with one.
    `held`: the publishers of records the store holds that are neither ours nor a peer's (this directory's
    earlier id, before DIRECTORY_ID changed): a peer of that id would write over them, and removing it
    would delete them."""
    candidate = check(directory_id)
    if candidate == ours:
        raise BadDirectoryId(candidate, "it is this directory's own id; a directory does not peer with itself")
    others = [(ours, "this directory's own id"), *((k, f"the id of the peer {k!r}") for k in known if k != ours),
              *((h, f"the publisher of records this store holds ({h!r}: this directory's id before "
                    "DIRECTORY_ID changed?)") for h in held if h != ours)]
    for other, which in others:
        if other == candidate:
            raise BadDirectoryId(candidate, f"it is already {which}; remove that peer first to pin another root")
        if other.startswith(candidate) or candidate.startswith(other):
            raise BadDirectoryId(candidate, f"it and {which} ({other!r}) are one a prefix of the other")
        if skeleton(other) == skeleton(candidate):
            raise BadDirectoryId(candidate, f"it can be read as {which} ({other!r})")
    return candidate


def record_id_of(value: str, type_name: str) -> str:
    """Accept a record id (`local:fld`) or a GraphQL global id (`Organisation:local:fld`)."""
    prefix = f"{type_name}:"
    return value[len(prefix):] if value.startswith(prefix) else value


def own_id(value: str, directory_id: str) -> str:
    """An organisation as a person types it: a bare id (`fict-kampala-legal`) is this directory's,
    as an import and `token create` read it; one with its directory (`peer.example:x`) is as given."""
    return value if not value or ":" in value else f"{directory_id}:{value}"
