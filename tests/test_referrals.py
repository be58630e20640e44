"""Referral paths on the real store: a hand-worked graph, each order, each role, and random graphs
compared with networkx after applying the visibility rules independently."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory.domain.errors import BadArgument, NotFound
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.jobs.paths import PathOrder
from directory.jobs.referrals import Question, referral_paths
from directory.jobs.referrals import table as referral_table
from directory.jobs.rules import STALE_AFTER_DAYS, UNKNOWN_RESPONSE_HOURS
from directory.store import Store
from directory.store.engine.cypher import cypher
from tests import reference_paths
from tests.helpers import Api, load, org, refers, service

pytestmark = pytest.mark.anyio

RECENT = (date.today() - timedelta(days=10)).isoformat()
INGO = Viewer("member", "test:ingo", "t")
DROP_HIDDEN = cypher("tests.drop_hidden", """
MATCH (n:Organisation) WHERE n.id IN ['test:h', 'test:p3'] DETACH DELETE n
WITH count(*) AS gone
MATCH ()-[l:REFERS_TO]->() WHERE l.visibility = 'restricted' DELETE l
""")


async def seed(store: Store) -> None:
    await load(store, [
        org("ingo", **{"#org+type": "international-ngo"}), org("a"), org("b"),
        org("c", **{"#meta+visibility": "network"}), org("h", **{"#meta+visibility": "restricted"}),
        org("p0"), org("p1"), org("p2", **{"#country+code": "VE"}), org("p3", **{"#meta+visibility": "restricted"}),
    ], [
        service("p1-s", "p1", **{"#service+response_hours": "24"}),
        service("p1-psy", "p1", "psychosocial-support", **{"#service+response_hours": "1"}),
        service("p2-s", "p2", **{"#country+code+present": "VE", "#country+code+remote": "CO",
                                 "#service+response_hours": "6"}),
        service("p0-s", "p0", **{"#capacity": "0", "#capacity+unit": "cases", "#capacity+date": RECENT,
                                 "#service+response_hours": "1"}),
        service("p3-s", "p3", **{"#service+response_hours": "1"}),
        service("a-med", "a", "medical-care"),
        service("b-closed", "b", **{"#status": "temporarily closed"}),
    ], [
        refers("ingo", "a", 12, 0.9, **{"#rel+formal": "yes", "#date+confirmed": "2026-03-01"}),
        refers("a", "p1", 24, 0.8), refers("ingo", "b", 6, 0.7), refers("b", "c", 6, 0.7), refers("c", "p2", 6, 0.7),
        refers("ingo", "h", 1, 1.0), refers("h", "p2", 1, 1.0), refers("ingo", "p0", 1, 1.0, visibility="public"),
        refers("a", "p3", 1, 1.0), refers("a", "ingo", 1, 1.0), refers("p1", "p2", 6, 0.9),
        refers("b", "p1", 6, None, visibility="restricted"),
    ])


def ask(order: PathOrder = PathOrder.FEWEST_HOPS, k: int = 5, **kwargs: object) -> Question:
    fields: dict[str, object] = {"service_type": "legal-aid", "country": "CO", "source": "test:ingo", "k": k,
                                 "max_hops": 4, "order": order}
    fields.update(kwargs)
    return Question(**fields)  # type: ignore[arg-type]


def chains(found: list) -> list[tuple[str, ...]]:
    return [tuple(o.removeprefix("test:") for o in p.organisations) for p in found]


async def test_each_order_on_the_hand_worked_graph(store: Store) -> None:
    await seed(store)
    # Visible to ingo's member: ingo>a>p1 (2 hops, 12+24+24 = 60 h, trust 0.72), ingo>a>p1>p2 (3 hops,
    # 12+24+6+6 = 48 h, 0.648), ingo>b>c>p2 (3 hops, 6+6+6+6 = 24 h, 0.343). p0 confirmed it has no capacity.
    by_hops = await referral_paths(store, INGO, ask(PathOrder.FEWEST_HOPS))
    assert chains(by_hops) == [("ingo", "a", "p1"), ("ingo", "b", "c", "p2"), ("ingo", "a", "p1", "p2")]
    assert [(p.rank, p.chain.hops, p.chain.response_hours) for p in by_hops] == [(1, 2, 60), (2, 3, 24), (3, 3, 48)]
    by_time = await referral_paths(store, INGO, ask(PathOrder.FASTEST_RESPONSE))
    assert chains(by_time) == [("ingo", "b", "c", "p2"), ("ingo", "a", "p1", "p2"), ("ingo", "a", "p1")]
    by_trust = await referral_paths(store, INGO, ask(PathOrder.HIGHEST_TRUST))
    assert chains(by_trust) == [("ingo", "a", "p1"), ("ingo", "a", "p1", "p2"), ("ingo", "b", "c", "p2")]
    assert by_trust[0].chain.trust == pytest.approx(0.72)
    first = by_hops[0]
    assert first.steps[0].reasons == ["formal referral agreement", "trust 0.9", "answers referrals within 12 h",
                                      "link confirmed 2026-03-01"]
    # the service by its name, as a person reads it (its id is the answer's `offers`)
    assert first.reasons == ["service Service p1-s delivered in CO, responds within 24 h, never confirmed"]
    assert [o.service for o in first.offers] == ["test:p1-s"]
    assert (await referral_paths(store, INGO, ask(k=1)))[0].organisations == by_hops[0].organisations


async def test_an_unknown_response_time_says_what_the_total_counted_for_it(store: Store) -> None:
    """A chain's response hours count an unknown time as UNKNOWN_RESPONSE_HOURS; the reasons beside
    them say so for the provider as for a hop, so the row does not read as 72 h next to "not recorded"."""
    await load(store, [org("ingo"), org("p")], [service("p-s", "p")], [refers("ingo", "p", 12, 0.9, "public")])
    (found,) = await referral_paths(store, INGO, ask())
    assert found.chain.response_hours == 12 + UNKNOWN_RESPONSE_HOURS
    assert found.reasons == [f"service Service p-s delivered in CO, response time not recorded "
                             f"(counted as {UNKNOWN_RESPONSE_HOURS:g} h), never confirmed"]


async def test_hidden_intermediaries_give_nothing_away(store: Store) -> None:
    await seed(store)
    member_view = await referral_paths(store, INGO, ask(PathOrder.FASTEST_RESPONSE))
    steward_view = await referral_paths(store, STEWARD, ask(PathOrder.FEWEST_HOPS, k=3))
    # The steward sees the quick chain through the restricted h, the restricted p3 and the restricted link b>p1.
    assert chains(steward_view) == [("ingo", "h", "p2"), ("ingo", "a", "p3"), ("ingo", "b", "p1")]
    await store.graph.write(DROP_HIDDEN)
    assert await referral_paths(store, INGO, ask(PathOrder.FASTEST_RESPONSE)) == member_view


async def test_zero_capacity_unknown_to_anonymous_and_closed_services(store: Store) -> None:
    await seed(store)
    # Anonymous viewers see only the public link ingo>p0, and not p0's capacity, so p0 qualifies for them.
    assert chains(await referral_paths(store, ANONYMOUS, ask())) == [("ingo", "p0")]
    assert ("ingo", "p0") not in chains(await referral_paths(store, INGO, ask()))
    # b's legal aid is temporarily closed: b is never a provider.
    assert all(p.organisations[-1] != "test:b" for p in await referral_paths(store, STEWARD, ask(k=10)))


async def test_a_provider_between_two_open_calls_cannot_take_the_referral(store: Store) -> None:
    """A hand-worked check ranked a grant whose only call had closed as a provider that can act, and
    nothing said the call was closed: a desk would refer a defender to a programme that cannot take
    them. Chains end at a service inside one of its intake windows today, if it has any."""
    on = date(2026, 12, 6)
    await load(store, [org("ingo"), org("closed"), org("later"), org("open"), org("always")], [
        service("closed-s", "closed", **{"#date+window": "2026-01-01/2026-02-01"}),
        service("later-s", "later", **{"#date+window": "2026-01-01/2026-02-01|2027-01-10/2027-02-10 winter call"}),
        service("open-s", "open", **{"#date+window": "2026-11-01/2026-12-06"}),
        service("always-s", "always", **{"#date+window": "2026-12-06/"}),
    ], [refers("ingo", o, 1, 0.9, "public") for o in ("closed", "later", "open", "always")])
    found = await referral_paths(store, INGO, ask(k=10), on=on)
    assert chains(found) == [("ingo", "always"), ("ingo", "open")]
    # the day after the call closed, only the open-ended one; once the winter call opens, that one too
    assert chains(await referral_paths(store, INGO, ask(k=10), on=date(2026, 12, 7))) == [("ingo", "always")]
    assert chains(await referral_paths(store, INGO, ask(k=10), on=date(2027, 1, 10))) == [("ingo", "always"),
                                                                                          ("ingo", "later")]


async def test_source_that_provides_and_no_path(store: Store) -> None:
    await seed(store)
    own = await referral_paths(store, INGO, ask(service_type="medical-care", source="test:a"))
    assert chains(own) == [("a",)] and own[0].chain.hops == 0
    assert await referral_paths(store, INGO, ask(service_type="medical-care", country="VE")) == []
    assert await referral_paths(store, INGO, ask(max_hops=1)) == []


async def test_hidden_source_reads_as_missing_and_arguments_are_named(store: Store) -> None:
    await seed(store)
    with pytest.raises(NotFound) as hidden:
        await referral_paths(store, INGO, ask(source="test:h"))
    with pytest.raises(NotFound) as missing:
        await referral_paths(store, INGO, ask(source="test:nobody"))
    assert str(hidden.value).replace("test:h", "X") == str(missing.value).replace("test:nobody", "X")
    for bad, argument in ((ask(service_type="cooking"), "serviceType"), (ask(country="XX"), "country"),
                          (ask(group="nobody"), "group"), (ask(language="zz"), "language"), (ask(k=0), "k"),
                          (ask(max_hops=9), "maxHops"), (ask(source=None), "from")):
        with pytest.raises(BadArgument) as error:
            await referral_paths(store, ANONYMOUS, bad)
        assert error.value.argument == argument
    # a language typed by its name, as people say it, is offered by its code: Swahili is `sw`, which
    # ISO 639-3 names "Swahili (macrolanguage)"; matching that missed it for Swahili, Malay, Nepali
    for name, code in (("swahili", "sw"), ("Malay", "ms"), ("nepali", "ne")):
        with pytest.raises(BadArgument) as error:
            await referral_paths(store, ANONYMOUS, ask(language=name))
        assert str(error.value).endswith(f"did you mean '{code}' ({name.title()})?"), str(error.value)


async def test_languages_by_any_of_their_codes_and_mul_by_the_one_rule_of_every_channel(store: Store) -> None:
    """A language asked as `spa` or `ES` is `es`; a provider listing `mul` takes any language and
    asking for `mul` narrows nothing; a service listing none speaks its organisation's."""
    await load(store, [org("ingo", **{"#org+type": "international-ngo"}), org("es", **{"#org+lang": "es"}),
                       org("any"), org("fr", **{"#org+lang": "fr"})], [
        service("es-s", "es"), service("any-s", "any", **{"#service+lang+intake": "mul"}),
        service("fr-s", "fr", **{"#service+lang": "fr"})],
        [refers("ingo", "es", 1, 0.9), refers("ingo", "any", 1, 0.9), refers("ingo", "fr", 1, 0.9)])
    for asked in ("es", "spa", "ES", " es "):
        assert sorted(chains(await referral_paths(store, INGO, ask(language=asked)))) == [
            ("ingo", "any"), ("ingo", "es")], asked
    assert sorted(chains(await referral_paths(store, INGO, ask(language="mul")))) == [
        ("ingo", "any"), ("ingo", "es"), ("ingo", "fr")]
    assert sorted(chains(await referral_paths(store, INGO, ask(language="fra")))) == [("ingo", "any"), ("ingo", "fr")]


async def test_a_relocation_provider_taking_defenders_from_the_country_asked_can_act(store: Store) -> None:
    """A shelter in Tanzania taking defenders from Kenya answers "a shelter for a defender from
    Kenya", and says why; one taking them from elsewhere does not, nor does it answer for a defender
    in Tanzania: it takes people from Kenya and Uganda only (as the gap matrix counts it)."""
    await load(store, [org("ingo", **{"#org+type": "international-ngo"}),
                       org("tz", **{"#org+type": "shelter", "#country+code": "TZ"}),
                       org("ug", **{"#org+type": "shelter", "#country+code": "UG"})], [
        service("tz-s", "tz", "safe-house", **{"#country+code+present": "TZ", "#country+code+origin": "KE|UG"}),
        service("ug-s", "ug", "safe-house", **{"#country+code+present": "UG", "#country+code+origin": "RW"})],
        [refers("ingo", "tz", 1, 0.9), refers("ingo", "ug", 1, 0.9)])
    found = await referral_paths(store, INGO, ask(service_type="safe-house", country="KE"))
    assert chains(found) == [("ingo", "tz")]
    assert "takes defenders from KE" in str(found[0].reasons[0])
    assert await referral_paths(store, INGO, ask(service_type="safe-house", country="TZ")) == []
    assert chains(await referral_paths(store, INGO, ask(service_type="safe-house", country="UG-102"))) == [
        ("ingo", "tz")]  # a subdivision of a country it takes defenders from


async def test_a_providers_reasons_name_the_places_it_records_and_when_it_was_last_confirmed(store: Store) -> None:
    """Asked about Kenya, a service recorded only in Mombasa says Mombasa, not "delivered in KE" (a desk
    would send a defender in Nairobi there); one recorded for all of Kenya says Kenya when asked about
    Nairobi. Each says when it was last confirmed, and that it is older than a year when it is."""
    long_ago = (date.today() - timedelta(days=400)).isoformat()
    lately = (date.today() - timedelta(days=10)).isoformat()
    await load(store, [org("ingo"), org("mombasa", **{"#date+verified": long_ago}), org("kenya")], [
        service("mombasa-s", "mombasa", **{"#country+code+present": "KE-28"}),
        service("kenya-s", "kenya", **{"#country+code+present": "KE", "#date+verified": lately})],
        [refers("ingo", "mombasa", 1, 0.9), refers("ingo", "kenya", 2, 0.9)])
    by_kenya = {p.chain.provider: p.reasons for p in await referral_paths(store, INGO, ask(country="KE"))}
    assert by_kenya["test:mombasa"] == [
        f"service Service mombasa-s delivered in KE-28, response time not recorded (counted as "
        f"{UNKNOWN_RESPONSE_HOURS:g} h), last confirmed {long_ago} (older than {STALE_AFTER_DAYS} days)"]
    assert by_kenya["test:kenya"][0].startswith("service Service kenya-s delivered in KE, ")
    assert by_kenya["test:kenya"][0].endswith(f", last confirmed {lately}")
    nairobi = await referral_paths(store, INGO, ask(country="KE-30"))
    assert [p.chain.provider for p in nairobi] == ["test:kenya"]
    assert nairobi[0].reasons[0].startswith("service Service kenya-s delivered in KE, ")


QUERY = """query($from: ID, $order: PathOrder!) {
  referralPaths(from: $from, serviceType: "legal-aid", country: "CO", k: 3, order: $order) {
    rank hops responseHours trust organisationIds providerReasons
    steps { from { recordId } to { name } reasons }
    provider { recordId } services { recordId } } }"""


async def test_through_graphql_with_a_member_token(store: Store, api: Api) -> None:
    await seed(store)
    _, token = await store.tokens.create("member", "test:ingo")
    data = await api.data(QUERY, token, order="FASTEST_RESPONSE")
    paths = data["referralPaths"]
    assert [p["organisationIds"] for p in paths] == [
        ["test:ingo", "test:b", "test:c", "test:p2"], ["test:ingo", "test:a", "test:p1", "test:p2"],
        ["test:ingo", "test:a", "test:p1"]]
    assert paths[0]["responseHours"] == 24 and paths[0]["provider"] == {"recordId": "test:p2"}
    assert paths[0]["services"] == [{"recordId": "test:p2-s"}]
    assert [s["to"]["name"] for s in paths[0]["steps"]] == ["B", "C", "P2"]
    hidden = await api.gql(QUERY, token, order="FEWEST_HOPS", **{"from": "test:h"})
    missing = await api.gql(QUERY, token, order="FEWEST_HOPS", **{"from": "test:nobody"})
    assert hidden["errors"][0]["message"].replace("test:h", "X") == \
        missing["errors"][0]["message"].replace("test:nobody", "X")


async def test_a_chains_trust_is_the_same_figure_in_the_table_and_in_graphql(store: Store, api: Api) -> None:
    """0.95 x 0.85 = 0.8075: the table (CLI, pages, CSV) once printed 0.807 where GraphQL said 0.8075."""
    await load(store, [org("ingo"), org("a"), org("p")], [service("p-s", "p")],
               [refers("ingo", "a", 1, 0.95, "public"), refers("a", "p", 1, 0.85, "public")])
    found = await referral_paths(store, INGO, ask())
    trust = referral_table(found, {}).rows[0][3]
    _, token = await store.tokens.create("member", "test:ingo")
    data = await api.data(QUERY, token, order="FEWEST_HOPS", **{"from": "test:ingo"})
    assert trust == data["referralPaths"][0]["trust"] == pytest.approx(0.8075)


# --- random graphs against networkx -------------------------------------------------------------

NAMES = [f"r{i}" for i in range(6)]
VIS = st.sampled_from(["public", "network", "restricted"])


@st.composite
def random_directory(draw: st.DrawFn) -> dict[str, object]:
    orgs = {n: draw(VIS) for n in NAMES}
    pairs = draw(st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES)).filter(lambda p: p[0] != p[1]),
                          max_size=14, unique=True))
    links = [(a, b, draw(st.sampled_from([None, 1.0, 24.0])), draw(st.sampled_from([None, 0.4, 0.9])), draw(VIS))
             for a, b in pairs]
    providers = draw(st.dictionaries(st.sampled_from(NAMES), st.tuples(st.sampled_from([None, 6.0, 48.0]), VIS),
                                     max_size=3))
    viewer = draw(st.sampled_from(["anonymous", "steward", *NAMES]))
    return {"orgs": orgs, "links": links, "providers": providers, "viewer": viewer,
            "source": draw(st.sampled_from(NAMES)), "order": draw(st.sampled_from(list(PathOrder))),
            "k": draw(st.integers(1, 4)), "hops": draw(st.integers(0, 4))}


def _expected(d: dict[str, object]) -> list[tuple[str, ...]] | None:
    """The visibility rules applied by hand, then networkx. None when the source is hidden."""
    viewer = d["viewer"]
    see = {"anonymous": {"public"}, "steward": {"public", "network", "restricted"}}.get(viewer, {"public", "network"})
    orgs: dict[str, str] = d["orgs"]  # type: ignore[assignment]
    shown = {n for n, v in orgs.items() if v in see or n == viewer}
    if d["source"] not in shown:
        return None
    edges = [(a, b, h, t) for a, b, h, t, v in d["links"]  # type: ignore[attr-defined]
             if a in shown and b in shown and (v in see or viewer in (a, b))]
    providers = {p: h for p, (h, v) in d["providers"].items()  # type: ignore[attr-defined]
                 if p in shown and (v in see or p == viewer)}
    return reference_paths.best_chains(d["source"], edges, providers, d["order"].value, d["k"], d["hops"])  # type: ignore[arg-type,attr-defined]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(random_directory())
async def test_random_graphs_agree_with_networkx(store: Store, d: dict[str, object]) -> None:
    from tests.conftest import WIPE

    await store.graph.write(WIPE)
    orgs: dict[str, str] = d["orgs"]  # type: ignore[assignment]
    await load(store, [org(n, **{"#meta+visibility": v}) for n, v in orgs.items()],
               [service(f"{p}-s", p, **{"#meta+visibility": v, "#service+response_hours": "" if h is None else h})
                for p, (h, v) in d["providers"].items()],  # type: ignore[attr-defined]
               [refers(a, b, h, t, visibility=v) for a, b, h, t, v in d["links"]])  # type: ignore[attr-defined]
    viewer = {"anonymous": ANONYMOUS, "steward": STEWARD}.get(d["viewer"], None)  # type: ignore[call-overload]
    viewer = viewer or Viewer("member", f"test:{d['viewer']}", "t")
    question = Question("legal-aid", "CO", f"test:{d['source']}", k=d["k"], max_hops=d["hops"],  # type: ignore[arg-type]
                        order=d["order"])  # type: ignore[arg-type]
    expected = _expected(d)
    if expected is None:
        with pytest.raises(NotFound):
            await referral_paths(store, viewer, question)
        return
    got = await referral_paths(store, viewer, question)
    assert chains(got) == expected


async def test_a_link_not_confirmed_for_a_year_says_so(store: Store) -> None:
    """A walk read "link confirmed 1 September 2024" as current: a referral path kept up two years ago
    may be gone, and the hop says it is older than the year a provider's confirmation counts."""
    old = (date.today() - timedelta(days=STALE_AFTER_DAYS + 30)).isoformat()
    await load(store, [org("ingo"), org("p")], [service("p-s", "p")],
               [refers("ingo", "p", 12, 0.9, "public", **{"#date+confirmed": old})])
    (found,) = await referral_paths(store, INGO, ask())
    assert found.steps[0].reasons[-1] == f"link last confirmed {old} (older than {STALE_AFTER_DAYS} days)"
