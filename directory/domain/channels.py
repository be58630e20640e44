"""The shape of each kind of way to reach someone: an email address, a number, a username, a web
address; the kinds without one (post, in person, through a partner, other) take any text.

One declaration for the two rules that read it: our own records are refused when a channel does not
have its kind's shape (`validation`), and a channel anyone may see that does not have it is read as
possibly an address, as the kinds of any text are (`location.public_address`): a peer's records are
its word and are not refused for their shape, so a careless peer's shelter could otherwise give its
street as an "email" the public reads.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\(?\+?\(?[0-9][0-9 ().\-/]*(\s*(ext\.?|x|#)\s*[0-9]+)?", re.IGNORECASE)
# a web address, its scheme http(s) or none (`wa.me/254...`, `t.me/name`): never another scheme
LINK = re.compile(r"(https?://)?[^\s/:@]+\.[^\s/:@]+(/\S*)?", re.IGNORECASE)
_NAME = re.compile(r"@?[A-Za-z0-9_][A-Za-z0-9_.\-]{1,63}")  # a messenger's username: one word
_MATRIX = re.compile(r"@[^:\s]+:[^\s]+")


def phone(value: str) -> bool:
    """Digits as people write them: a leading + or bracket (`(601) 744-9333`, `(+57) 601`: an
    operator's walk had the first refused), spaces, dots, dashes, slashes and brackets, maybe an
    extension (`ext 2`); three digits at least (a short hotline: 112)."""
    return bool(_PHONE.fullmatch(value)) and sum(ch.isdigit() for ch in value) >= 3


def shaped(kind: str, value: str) -> bool:
    """Whether a channel's value has its kind's shape (any value, for a kind that has none)."""
    if kind == "email":
        return bool(EMAIL.fullmatch(value))
    if kind in ("phone", "hotline", "sms"):
        return phone(value)
    if kind == "whatsapp":
        return phone(value) or bool(LINK.fullmatch(value))
    if kind in ("signal", "telegram"):
        return phone(value) or bool(_NAME.fullmatch(value) or LINK.fullmatch(value))
    if kind == "matrix":
        return bool(_MATRIX.fullmatch(value) or LINK.fullmatch(value))
    if kind in ("url", "form", "web-form"):
        return bool(LINK.fullmatch(value))
    return True
