"""Every Cypher statement the service runs is declared here, by name, so CI can lint them all.

`cypher()` registers a statement at import time; `tools/lint_cypher.py` imports the store modules,
takes `REGISTRY` and checks each entry with Neo4j's own parser. Most statements are static text
with `$parameters`.

The listings and the reads shaped by a request (`records.listing`, `records.projection`) are
assembled from fragments instead, one statement per combination of the filters actually given,
so the store never evaluates a `($x IS NULL OR ...)` guard for every row. Each such module
registers a sampler (`sampled`) giving statements that together hold every fragment: every filter
alone and all together, every sort, every return; the lint checks those too.
"""

from __future__ import annotations

from collections.abc import Callable

REGISTRY: dict[str, str] = {}
SAMPLERS: list[Callable[[], dict[str, str]]] = []


def cypher(name: str, text: str) -> str:
    if name in REGISTRY and REGISTRY[name] != text:
        raise ValueError(f"two Cypher statements are named {name!r}")
    REGISTRY[name] = text
    return text


def sampled(sampler: Callable[[], dict[str, str]]) -> Callable[[], dict[str, str]]:
    """Register a module's sampler of assembled statements for the lint (see above)."""
    SAMPLERS.append(sampler)
    return sampler


def group_served(var: str) -> str:
    """The service serves defender group `$group`, or names none (open to all)."""
    return (f"(NOT EXISTS {{ MATCH ({var})-[:SERVES]->(:DefenderGroup) }}\n"
            f"       OR EXISTS {{ MATCH ({var})-[:SERVES]->(g:DefenderGroup) WHERE g.code = $group }})")


def type_offered(var: str) -> str:
    """The service is of type `$service_type`, or pays for it (a grant's purposes)."""
    return f"({var}.type = $service_type OR $service_type IN coalesce({var}.purposes, []))"


def without_origins(service: str) -> str:
    """The service names no origins. A relocation or exile service that says where defenders may come
    from helps defenders from there, not defenders where it hosts them: a job asking where help is
    needed finds it by its origins only, never by its coverage (as the gap matrix counts it,
    `store.jobs.gaps`: its origins, else its places)."""
    return f"coalesce({service}.origin_codes, '') = ''"


def helps_through(relationship: str, service: str) -> str:
    """The matched relationship is where the service helps defenders: its origins (`TAKES_FROM`) or,
    naming none, its coverage (`without_origins`)."""
    return f"(type({relationship}) = 'TAKES_FROM' OR {without_origins(service)})"


def spoken_by(var: str) -> str:
    """The record lists `$language`, or `mul` (any language) among its languages."""
    return f"any(l IN coalesce({var}.languages, []) WHERE l = $language OR l = 'mul')"


def offered_in(service: str, organisation: str) -> str:
    """The service is offered in `$language`: it lists it, or any (`mul`), among its languages and
    those a request may be made in; a service listing none is offered in its organisation's
    (`places.offered_in`, the same rule for the partners' scoring in Python)."""
    own = f"coalesce({service}.languages, []) + coalesce({service}.intake_languages, [])"
    return (f"(any(l IN {own} WHERE l = $language OR l = 'mul')\n"
            f"       OR (size({own}) = 0 AND {spoken_by(organisation)}))")


def offered_in_any(service: str, organisation: str) -> str:
    """The service is offered in one of `$speaking` (`offered_in`'s rule), or neither it nor its
    organisation records a language (`places.offered_in_any`). Empty `$speaking`: any."""
    own = f"coalesce({service}.languages, []) + coalesce({service}.intake_languages, [])"
    theirs = f"coalesce({organisation}.languages, [])"
    return (f"(size($speaking) = 0 OR any(l IN {own} WHERE l IN $speaking OR l = 'mul')\n"
            f"       OR (size({own}) = 0 AND (size({theirs}) = 0\n"
            f"           OR any(l IN {theirs} WHERE l IN $speaking OR l = 'mul'))))")


def serves_group(var: str) -> str:
    """`group_served`, or no `$group` asked."""
    return f"($group IS NULL OR {group_served(var)})"


def taking_requests(var: str) -> str:
    """A service takes requests on `$today`: it is active and, if it has intake windows, one is open
    (`window_spans`: OPENS/CLOSES, an open end written 9999-12-31, see `records.writes`)."""
    return (f"(coalesce({var}.status, 'active') = 'active' AND (size(coalesce({var}.window_spans, [])) = 0 "
            f"OR any(w IN {var}.window_spans WHERE left(w, 10) <= $today AND right(w, 10) >= $today)))")


def service_map(var: str) -> str:
    """A service's properties with its coverage, defender groups and origins, as `records.reads` reads them."""
    return (f"{var} {{.*,\n"
            f"  coverage: [({var})-[a:AVAILABLE_IN]->(p:Place) | {{place: p.code, presence: a.presence}}],\n"
            f"  groups: [({var})-[:SERVES]->(g:DefenderGroup) | g.code],\n"
            f"  origins: [({var})-[:TAKES_FROM]->(q:Place) | q.code]\n}}")


def visible(var: str) -> str:
    """The visibility predicate for a node or relationship bound to `var`.

    Takes the parameters of `Viewer.params`: `$see`, the visibilities this viewer may see, and
    `$viewer_org`, whose own records the viewer sees whatever their visibility.
    """
    return f"({var}.visibility IN $see OR ({var}.owner IS NOT NULL AND {var}.owner = $viewer_org))"


def link_visible(rel: str, a: str, b: str) -> str:
    """The visibility predicate for a link `rel` between organisations `a` and `b`: the members of
    either end see it whatever its visibility (a link is theirs both). A link is shown only with
    both its ends `visible` too; each statement says so, or knows an end is already visible."""
    return f"({rel}.visibility IN $see OR $viewer_org IN [{a}.id, {b}.id])"


def shown(var: str, prop: str) -> str:
    """A property kept per view (`updated_at`, `revision`), as this viewer sees it (`Viewer.view`)."""
    return (f"CASE WHEN $view = 'whole' OR {var}.owner = $viewer_org THEN {var}.{prop} "
            f"WHEN $view = 'network' THEN coalesce({var}.network_{prop}, {var}.{prop}) "
            f"ELSE coalesce({var}.public_{prop}, {var}.{prop}) END")


def current(var: str) -> str:
    """A record the jobs count: not one of a peer whose feed went stale or that was quarantined
    (`peers.mark_stale`). Its pages still show it, marked; but a donor's gaps, a group's partners and
    an INGO's referral chains are about who can act now, and a peer caught rewriting its history (or
    silent past its checkpoint) must not keep filling gaps or answers with what it claimed."""
    return f"NOT coalesce({var}.feed_stale, false)"


def place_shown(var: str) -> str:
    """The organisation's place may be matched for this viewer: false for the public viewing a
    shelter whose place is withheld (`store.shelters`)."""
    return f"NOT ($view = 'public' AND coalesce({var}.place_withheld, false))"


def shown_subdivision(var: str) -> str:
    """The organisation's subdivision as this viewer sees it: the recorded one for a steward or
    the owner's members, else the one its published precision shows (none at country precision)."""
    return (f"CASE WHEN $view = 'whole' OR {var}.owner = $viewer_org THEN {var}.subdivision "
            f"ELSE {var}.pub_subdivision END")
