"""The referral path map: the k best chains of a referral question, drawn hop by hop.

Each organisation stands at the point this viewer may see (`Store.map_points`); one that
publishes no point is listed in the panel but not drawn, and the line skips it.
"""

from __future__ import annotations

from directory.base import budget
from directory.domain import places
from directory.domain.taxonomy import SERVICE_TYPE
from directory.domain.viewer import Viewer
from directory.jobs.referrals import Question, ReferralPath, referral_paths
from directory.store import MapPoint, PointFilter, Store
from maps.directory_map import PRECISION_NOTE, labels
from maps.page import Call, Options, base_map, basemap, render

COLOURS = ["#c2185b", "#1f5fa8", "#238b45", "#6a3d9a", "#e6550d", "#00838f", "#8d6e63", "#455a64", "#d4a017",
           "#000000"]


def _role(index: int, last: int) -> str:
    return "asks for help" if index == 0 else "provides the service" if index == last else "refers onwards"


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
    def name(oid: str) -> str:
        return names.get(oid, oid)

    paths = []
    for p, colour in zip(found, COLOURS, strict=False):
        stops = []
        last = len(p.organisations) - 1
        for i, oid in enumerate(p.organisations):
            point = points.get(oid)
            stops.append({"name": name(oid), "role": _role(i, last),
                          "lat": point.latitude if point else None, "lon": point.longitude if point else None,
                          "precision": PRECISION_NOTE[point.precision] if point else "Publishes no location."})
        steps = [{"text": f"{name(s.referral.source)} refers to {name(s.referral.target)}", "reasons": s.reasons}
                 for s in p.steps]
        steps.append({"text": f"{name(p.organisations[-1])} can act", "reasons": p.reasons})
        hours = f", about {p.chain.response_hours:g} h" if p.chain.response_hours is not None else ""
        paths.append({"rank": p.rank, "colour": colour, "stops": stops, "steps": steps,
                      "summary": f"{p.chain.hops} hops{hours}, trust {p.chain.trust:.2f}"})
    where = places.place(q.country)
    title = f"Referral paths from {name(source)} to {service} in {where.name if where else q.country}"
    m = base_map("Protection Directory: referral paths", options)
    basemap(m)
    m.add_child(Call("pdPaths", {"title": title, "paths": paths,
                                 "empty": "No chain of referrals you may see reaches a provider that can act."}))
    budget.check()  # the request may have given up while the page was being built
    return render(m, options)
