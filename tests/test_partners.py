"""Finding partners on a hand-built directory: who qualifies, who does not and why, each score part."""

from __future__ import annotations

from datetime import timedelta

import pytest

from directory.domain import places
from directory.domain.errors import BadArgument, NotFound
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.jobs.partners import WEIGHTS, PartnerQuestion, find_partners
from directory.jobs.rules import today
from directory.store import Store
from tests.helpers import Api, load, org, service

pytestmark = pytest.mark.anyio

ME = Viewer("member", "test:me", "t")
ASKED = ["psychosocial-support", "digital-security", "medical-care"]


def link(kind: str, source: str, target: str, **more: object) -> dict[str, object]:
    row: dict[str, object] = {"#rel+type": kind, "#org+id+source": source, "#org+id+target": target}
    row.update(more)
    return row


async def seed(store: Store) -> None:
    here = {"#geo+lat": "4.71", "#geo+lon": "-74.07", "#geo+precision": "locality", "#org+lang": "es"}
    await load(store, [
        org("me", **here), org("n", **{"#org+type": "regional-network"}),
        org("v", **{"#org+type": "international-ngo", "#country+code": "IE"}),
        org("x", **{"#geo+lat": "6.25", "#geo+lon": "-75.56", "#geo+precision": "locality", "#org+lang": "es",
                    "#date+verified": today().isoformat()}),
        org("y", **{"#country+code": "MX", "#org+lang": "es|en", "#date+verified": today().isoformat()}),
        org("z", **{"#org+lang": "fr"}), org("p", **{"#org+lang": "es"}), org("g", **{"#org+lang": "es"}),
        org("h", **{"#meta+visibility": "restricted", "#org+lang": "es"}), org("legal", **{"#org+lang": "es"}),
    ], [
        service("me-legal", "me", **{"#group+code": "women"}),
        service("x-psy", "x", "psychosocial-support", **{"#service+response_hours": "24"}),
        service("y-psy", "y", "psychosocial-support", **{"#country+code+present": "MX", "#country+code+remote": "CO",
                                                         "#service+response_hours": "6"}),
        service("y-dig", "y", "digital-security", **{"#country+code+present": "MX", "#country+code+remote": "CO"}),
        service("z-dig", "z", "digital-security"),
        service("p-med", "p", "medical-care"),
        service("g-psy", "g", "psychosocial-support", **{"#group+code": "journalists"}),
        service("h-psy", "h", "psychosocial-support"),
        service("legal-only", "legal"),
    ], [
        link("MEMBER_OF", "me", "n", **{"#meta+visibility": "public"}),
        link("VETTED_BY", "me", "v"), link("MEMBER_OF", "x", "n", **{"#meta+visibility": "public"}),
        link("VETTED_BY", "x", "v"), link("PARTNERS_WITH", "p", "me", **{"#meta+visibility": "public"}),
    ])


async def test_freshness_is_when_a_candidate_was_verified_not_when_it_was_written(store: Store) -> None:
    await seed(store)
    old = (today() - timedelta(days=365)).isoformat()
    await load(store, [org("y", **{"#country+code": "MX", "#org+lang": "es|en", "#date+verified": old}),
                       org("x", **{"#geo+lat": "6.25", "#geo+lon": "-75.56", "#geo+precision": "locality",
                                   "#org+lang": "es"})])  # written again today: one checked a year ago, one never
    found = {p.organisation: p for p in await find_partners(store, ME, PartnerQuestion(service_types=ASKED))}
    assert found["test:y"].parts["freshness"] == 0.5 and found["test:x"].parts["freshness"] == 0.0


async def test_who_qualifies_and_each_part_worked_by_hand(store: Store) -> None:
    await seed(store)
    found = await find_partners(store, ME, PartnerQuestion(service_types=ASKED))
    # z speaks only French, p is a partner already, g serves journalists only (me serves women), h is restricted
    assert [p.organisation for p in found] == ["test:x", "test:y"]
    x, y = found
    me = (await store.organisation(ME, "test:me")).location
    there = (await store.organisation(ME, "test:x")).location
    assert me and there and me.latitude and me.longitude and there.latitude and there.longitude
    km = round(places.distance_km(me.latitude, me.longitude, there.latitude, there.longitude), 1)
    assert x.distance_km == km and x.parts["distance"] == round(1 / (1 + km / 250), 4)
    assert {k: x.parts[k] for k in ("complementarity", "coverage", "networks", "language", "response")} == {
        "complementarity": round(1 / 3, 4), "coverage": 1.0, "networks": 1.0, "language": 1.0, "response": 0.5}
    assert y.parts == {"complementarity": round(2 / 3, 4), "coverage": 0.5, "distance": 0.5, "networks": 0.0,
                       "language": 1.0, "response": 0.8, "freshness": 1.0}
    assert y.score == round(sum(WEIGHTS[k] * v for k, v in y.parts.items()), 4)
    assert y.offered_types == ["digital-security", "psychosocial-support"]
    assert "in common: N" in x.reasons and "reaches CO remotely" in y.reasons


async def test_default_asks_for_what_it_lacks_and_radius(store: Store) -> None:
    await seed(store)
    lacking = await find_partners(store, ME, PartnerQuestion())
    assert "test:legal" not in [p.organisation for p in lacking]  # offers only what me already offers
    assert {"test:x", "test:y"} <= {p.organisation for p in lacking}
    near = await find_partners(store, ME, PartnerQuestion(service_types=ASKED, radius_km=300))
    assert [p.organisation for p in near] == ["test:x"]  # y publishes no point
    assert await find_partners(store, ME, PartnerQuestion(service_types=ASKED, radius_km=100)) == []


async def test_what_each_role_sees(store: Store) -> None:
    await seed(store)
    steward = await find_partners(store, STEWARD, PartnerQuestion("test:me", ASKED))
    assert "test:h" in [p.organisation for p in steward]
    public = await find_partners(store, ANONYMOUS, PartnerQuestion("test:me", ASKED))
    # the vetting links are network-only: the public sees the shared network, not the shared vetter
    assert next(p for p in public if p.organisation == "test:x").parts["networks"] == 0.5
    with pytest.raises(NotFound):
        await find_partners(store, ME, PartnerQuestion("test:h", ASKED))
    for bad, argument in ((PartnerQuestion("test:me", ["cooking"]), "serviceTypes"),
                          (PartnerQuestion("test:me", ASKED, radius_km=0), "radiusKm"),
                          (PartnerQuestion("test:y", ASKED, radius_km=50), "radiusKm"),
                          (PartnerQuestion("test:me", ASKED, first=0), "first"),
                          (PartnerQuestion(None, ASKED), "organisation"),
                          (PartnerQuestion("test:me", ASKED, country="XX"), "country")):
        with pytest.raises(BadArgument) as error:
            await find_partners(store, ANONYMOUS if bad.organisation is None else ME, bad)
        assert error.value.argument == argument


QUERY = """query($types: [String!]) { findPartners(serviceTypes: $types, first: 5) {
  organisationId score breakdown { complementarity networks } offeredTypes reasons
  organisation { name } services { recordId } } }"""


async def test_through_graphql_as_a_member(store: Store, api: Api) -> None:
    await seed(store)
    _, token = await store.tokens.create("member", "test:me")
    data = (await api.data(QUERY, token, types=ASKED))["findPartners"]
    assert [(p["organisationId"], p["organisation"]["name"]) for p in data] == [("test:x", "X"), ("test:y", "Y")]
    assert data[1]["services"] == [{"recordId": "test:y-dig"}, {"recordId": "test:y-psy"}]
    assert data[0]["breakdown"]["networks"] == 1.0
    anonymous = await api.gql(QUERY, None, types=ASKED)
    assert "organisation" in anonymous["errors"][0]["message"]  # the public must say which organisation
