"""The referral path map: the k best chains of a referral question, drawn hop by hop.

Each organisation stands at the point this viewer may see (`Store.map_points`); one that
publishes no point is listed in the panel but not drawn, and the line skips it.
"""

from __future__ import annotations

from directory.base import budget
from directory.domain.taxonomy import SERVICE_TYPE
from directory.domain.viewer import Viewer
from directory.jobs.referrals import Question, ReferralPath, referral_paths
from directory.store import MapPoint, PointFilter, Store
from maps.directory_map import PRECISION_NOTE, labels
from maps.page import Call, Options, Words, base_map, basemap, render

COLOURS = ["#c2185b", "#1f5fa8", "#238b45", "#6a3d9a", "#e6550d", "#00838f", "#8d6e63", "#455a64", "#d4a017",
           "#000000"]


def _role(index: int, last: int, words: Words) -> str:
    if index == 0:
        return words.say("asks for help")
    return words.say("provides the service") if index == last else words.say("refers onwards")


async def referral_map(store: Store, viewer: Viewer, q: Question, options: Options) -> str:
    found: list[ReferralPath] = await referral_paths(store, viewer, q)
    ids = sorted({o for p in found for o in p.organisations} | ({q.source} if q.source else set()))
    orgs = await store.organisations_by_id(viewer, ids)
    points = {p.id: p for p in (await store.map_points(viewer, PointFilter(ids=ids))).points}
    names = {oid: org.name for oid, org in orgs.items()}
    service = (await labels(store, SERVICE_TYPE))[0].get(q.service_type, q.service_type)
    return await budget.in_thread(_page, found, names, points, q.source or viewer.organisation or "", q, service,
                                  options)


def _page(found: list[ReferralPath], names: dict[str, str], points: dict[str, MapPoint], source: str, q: Question,
          service: str, options: Options) -> str:
    words = options.words

    def name(oid: str) -> str:
        return names.get(oid, oid)

    paths = []
    for p, colour in zip(found, COLOURS, strict=False):
        stops = []
        last = len(p.organisations) - 1
        for i, oid in enumerate(p.organisations):
            point = points.get(oid)
            stops.append({"name": name(oid), "role": _role(i, last, words),
                          "lat": point.latitude if point else None, "lon": point.longitude if point else None,
                          "precision": words.translate(PRECISION_NOTE[point.precision]) if point
                          else words.say("Publishes no location.")})
        steps = [{"text": words.say("%(source)s refers to %(target)s", source=name(s.referral.source),
                                    target=name(s.referral.target)),
                  "reasons": [words.reason(r) for r in s.reasons]} for s in p.steps]
        steps.append({"text": words.say("%(name)s can act", name=name(p.organisations[-1])),
                      "reasons": [words.reason(r) for r in p.reasons]})
        trust = words.figure(round(p.chain.trust, 2))
        summary = (words.say("Referrals: %(hops)s; about %(hours)s h; trust %(trust)s", hops=p.chain.hops,
                             trust=trust, hours=words.figure(p.chain.response_hours))
                   if p.chain.response_hours is not None
                   else words.say("Referrals: %(hops)s; trust %(trust)s", hops=p.chain.hops, trust=trust))
        paths.append({"rank": p.rank, "label": words.say("Path %(rank)s", rank=p.rank), "colour": colour,
                      "stops": stops, "steps": steps, "summary": summary})
    title = words.say("Referral chains from %(source)s to %(service)s in %(place)s", source=name(source),
                      service=words.translate(service), place=words.place(q.country))
    m = base_map(words.say("Protection Directory: referral paths"), options)
    basemap(m)
    m.add_child(Call("pdPaths", {"title": title, "paths": paths,
                                 "empty": words.say("No chain of referrals you may see reaches a provider that "
                                                    "can act.")}))
    budget.check()  # the request may have given up while the page was being built
    return render(m, options)
