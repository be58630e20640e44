"""A service's places as one string each (`|CO present|001 remote`, `|CO|KE`), beside the
relationships that hold them: written with the service, read by the whole-directory reads and by
the rule on shelters' places."""

from __future__ import annotations

from directory.domain.model import Service


def place_codes(svc: Service) -> dict[str, str]:
    """A service's coverage and origins as one string each, as its AVAILABLE_IN and TAKES_FROM
    relationships hold them (`|CO present|001 remote`, `|CO|KE`): the whole-directory reads (the gap
    matrix, the coverage map) read these, as a pattern per service took ArcadeDB 1.2 s of 2.8 at
    100k. Migration 15 writes them from the relationships (`engine.schema`)."""
    return {"coverage_codes": "".join(f"|{c.place} {c.presence.value}" for c in svc.coverage),
            "origin_codes": "".join(f"|{code}" for code in svc.origins)}


def place_entries(text: str | None) -> list[tuple[str, str]]:
    """`place_codes` read back as written: each place with its presence ("" for an origin)."""
    return [(code, presence) for code, _, presence in (entry.partition(" ") for entry in (text or "").split("|")[1:])]


def read_place_codes(text: str | None) -> dict[str, bool]:
    """`place_codes` read back: each place, and whether the service is delivered there (True) or
    reaches it remotely; an origin (no presence) counts as delivered."""
    out: dict[str, bool] = {}
    for code, presence in place_entries(text):
        out[code] = out.get(code, False) or presence in ("present", "")
    return out
