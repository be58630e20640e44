"""Full-text search, places with provider counts, taxonomy, and the DataLoader's round trips."""

from __future__ import annotations

from typing import Any

import pytest

from directory.store import Store
from tests.conftest import LiveServer
from tests.helpers import Api, load, org, service

pytestmark = pytest.mark.anyio

SEARCH = """query($text: String!, $first: Int, $after: String, $kinds: [SearchKind!]) {
  search(text: $text, first: $first, after: $after, kinds: $kinds) {
    totalCount edges { score cursor organisation { recordId name } service { recordId name } }
    pageInfo { hasNextPage endCursor } } }"""


async def seed(store: Store) -> None:
    await load(store, [
        org("fld", "Front Line Defenders", **{"#description": "Protection of human rights defenders at risk"}),
        org("pbi", "Peace Brigades International", **{"#description": "Protective accompaniment"}),
        org("helpdesk", "Digital Help Desk", **{"#description": "Digital security for journalists"}),
        org("secret", "Brigades of the Night", **{"#meta+visibility": "restricted",
                                                  "#description": "accompaniment brigades"}),
    ], [service("pbi-acc", "pbi", "protective-accompaniment")])


async def _hits(api: Api, text: str, token: str | None = None, **more: Any) -> list[tuple[str, float]]:
    data = await api.data(SEARCH, token, text=text, first=50, **more)
    return [((e["organisation"] or e["service"])["recordId"], e["score"]) for e in data["search"]["edges"]]


@pytest.mark.parametrize(("text", "expected"), [
    ("Front Line Defenders", "test:fld"),
    ("frnt line defenders", "test:fld"),  # a typo in a name
    ("peace brigdes", "test:pbi"),  # a typo in a six-letter word
    ("defendres", "test:fld"),  # two letters swapped
    ("journalists", "test:helpdesk"),  # a description word
    ("brig", "test:pbi"),  # a prefix
])
async def test_search_finds_names_with_typos_prefixes_and_descriptions(store: Store, api: Api, text: str,
                                                                        expected: str) -> None:
    await seed(store)
    hits = await _hits(api, text)
    assert hits and hits[0][0] == expected, hits
    assert all(0 < score <= 1 for _, score in hits)


@pytest.mark.parametrize(("text", "expected"), [
    ("women's link", "test:wl"),  # typed as the name is written
    ("droits de l'homme", "test:ldh"),
    ("l'homme", "test:ldh"),
    ("o'brien", "test:ob"),
    ("al-haq", "test:ah"),
    ("insan haklar\u0131", "test:ihd"),  # "İnsan", lowered as the server lowers it
    ("ihd", "test:ihd"),
    ("\u0130HD", "test:ihd"),
])
async def test_search_finds_names_written_with_apostrophes_and_hyphens(store: Store, api: Api, text: str,
                                                                        expected: str) -> None:
    await load(store, [org("wl", "Women's Link Worldwide"), org("ldh", "Ligue des droits de l'Homme"),
                       org("ob", "Fundación O'Brien"), org("ah", "Al-Haq"),
                       org("ihd", "\u0130nsan Haklar\u0131 Derne\u011fi \u0130HD"),
                       org("other", "Barolar Birli\u011fi", **{"#description": "insan haklar\u0131 merkezi"})])
    found = [h[0] for h in await _hits(api, text)]
    assert found[0] == expected and set(found) <= {expected, "test:other"}, found  # another's description


@pytest.mark.parametrize("text", ["accompagnement", "urgence", "l'accompagnement", "défenseurs"])
async def test_search_finds_a_description_word_joined_by_an_apostrophe(store: Store, api: Api, text: str) -> None:
    await load(store, [org("aide", "Aide Juridique Sahel",
                           **{"#description": "Fonds d\u2019urgence et l'accompagnement des défenseurs"})])
    assert [h[0] for h in await _hits(api, text)] == ["test:aide"]


@pytest.mark.parametrize(("text", "expected"), [
    ("rio claro", ["test:rio"]), ("Río Claro", ["test:rio"]), ("nandu", ["test:nandu"]), ("ÑANDÚ", ["test:nandu"]),
    ("defenseurs", ["test:rio"]), ("mudafiun", []), ("مدافعون", ["test:ar"]), ("droits", ["test:ar"]),
    ("rioclaro", ["test:rio"]), ("colectivorio", ["test:rio"]), ("riocl", []),  # two words written as one
    ("ri\u0301o claro", ["test:rio"]),  # the accent typed as a mark of its own, as some keyboards send it
])
async def test_search_finds_latin_letters_with_or_without_their_accents(store: Store, api: Api, text: str,
                                                                         expected: list[str]) -> None:
    """As people type on a keyboard without them; the marks of other scripts stay part of the word."""
    await load(store, [org("rio", "Colectivo Río Claro", **{"#description": "Acompaña a los défenseurs"}),
                       org("nandu", "Fundación Ñandú"),
                       org("ar", "مدافعون", **{"#description": "droits humains"})])
    assert sorted(h[0] for h in await _hits(api, text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("मानवाधिकार", ["test:hi"]), ("मानव", ["test:hi"]), ("म", []),  # a word with its vowel signs is one word
    ("রক্ষা", ["test:bn"]), ("அமைப்பு", ["test:ta"]),
    ("حقوق", ["test:ar"]), ("حُقوق", ["test:ar"]), ("الانسان", ["test:ar"]),  # vowels or not; hamza: a typo away
    ("זכויות", ["test:he"]), ("ẹ̀kọ", ["test:yo"]), ("eko", ["test:yo"]),
])
async def test_search_keeps_a_scripts_marks_in_its_words_and_drops_the_vowels_writers_leave_out(
        store: Store, api: Api, text: str, expected: list[str]) -> None:
    """Devanagari, Bengali and Tamil vowel signs are part of a word (Python's \\w would split there);
    Arabic's and Hebrew's vowel marks are left out, as most writers leave them out."""
    await load(store, [org("hi", "मानवाधिकार रक्षक नेटवर्क"), org("bn", "অধিকার সুরক্ষা"),
                       org("ta", "மனித உரிமை அமைப்பு"), org("ar", "حُقوق الإنسان"),
                       org("he", "זְכוּיוֹת אָדָם"), org("yo", "Ẹ̀kọ́ fún Gbogbo")])
    assert sorted(h[0] for h in await _hits(api, text)) == expected


async def test_search_finds_aliases_and_services(store: Store, api: Api) -> None:
    await load(store, [org("pi", "Protection International", **{"#org+name+alt": "PI|ProtectInt"})])
    assert (await _hits(api, "protectint"))[0][0] == "test:pi"
    await seed(store)
    assert [h[0] for h in await _hits(api, "service pbi", kinds=["SERVICE"])] == ["test:pbi-acc"]


async def test_hidden_records_change_neither_hits_nor_scores_nor_counts(store: Store, api: Api) -> None:
    await seed(store)
    before = await api.data(SEARCH, text="brigades", first=50)
    # Many hidden records full of the same word would change Lucene's scores; ours stay put.
    await load(store, [org(f"hid{i}", f"Brigades {i}", **{"#meta+visibility": "restricted",
                                                          "#description": "brigades brigades"}) for i in range(30)])
    after = await api.data(SEARCH, text="brigades", first=50)
    assert before == after
    assert [e["organisation"]["recordId"] for e in after["search"]["edges"]] == ["test:pbi"]
    _, steward = await store.tokens.create("steward", None)
    assert "test:secret" in [h[0] for h in await _hits(api, "brigades", steward)]


async def test_search_pagination_visits_every_hit_once(store: Store, api: Api) -> None:
    await load(store, [org(f"g{i:02}", f"Defenders Group {i}") for i in range(17)])
    full = await _hits(api, "defenders group")
    seen: list[str] = []
    after = None
    while True:
        page = (await api.data(SEARCH, text="defenders group", first=5, after=after))["search"]
        seen += [e["organisation"]["recordId"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [h[0] for h in full] and len(set(seen)) == 17


async def test_search_input_errors_are_clear(store: Store, api: Api) -> None:
    assert "at least one word" in (await api.gql(SEARCH, text="  ?! "))["errors"][0]["message"]
    assert "at most 8 words" in (await api.gql(SEARCH, text="a " * 9))["errors"][0]["message"]
    # Lucene syntax in the text is not interpreted
    assert (await api.data(SEARCH, text='front* OR "line" AND -x~2'))["search"]["totalCount"] >= 0


PLACES = """query($codes: [String!], $country: String, $group: String) {
  places(codes: $codes, country: $country, group: $group) { code name providers { serviceType present remote } } }"""


async def test_places_count_the_providers_the_viewer_may_see(store: Store, api: Api) -> None:
    await load(store, [org("a"), org("b"), org("c", **{"#meta+visibility": "restricted"}), org("w")], [
        service("a1", "a", "legal-aid", **{"#country+code+present": "CO-ANT"}),
        service("a2", "a", "legal-aid", **{"#country+code+present": "CO"}),
        service("b1", "b", "legal-aid", **{"#country+code+present": "", "#country+code+remote": "CO",
                                           "#group+code": "journalists"}),
        service("c1", "c", "legal-aid", **{"#country+code+present": "CO"}),
        service("w1", "w", "digital-security", **{"#country+code+present": "", "#country+code+remote": "world"}),
    ])
    data = await api.data(PLACES, codes=["CO", "CO-ANT", "PE"])
    got = {p["code"]: {c["serviceType"]: (c["present"], c["remote"]) for c in p["providers"]} for p in data["places"]}
    assert got["CO"] == {"legal-aid": (1, 1), "digital-security": (0, 1)}  # a counted once; c is hidden
    assert got["CO-ANT"] == {"legal-aid": (1, 1), "digital-security": (0, 1)}
    assert got["PE"] == {"digital-security": (0, 1)}
    women = await api.data(PLACES, codes=["CO"], group="women")
    assert {c["serviceType"] for c in women["places"][0]["providers"]} == {"legal-aid", "digital-security"}
    assert {c["serviceType"]: c["remote"] for c in women["places"][0]["providers"]}["legal-aid"] == 0
    subdivisions = await api.data(PLACES, country="CO")
    assert len(subdivisions["places"]) > 30 and all(p["code"].startswith("CO-") for p in subdivisions["places"])
    assert "codes: 'XX'" in (await api.gql(PLACES, codes=["XX"]))["errors"][0]["message"]


async def test_places_count_a_relocation_service_where_it_takes_defenders_from(store: Store, api: Api) -> None:
    """README: `places` counts a relocation service where it hosts as well as where it takes
    defenders from. It counted only where it hosts (a hand-worked scenario)."""
    await load(store, [org("host", **{"#country+code": "GB"})], [
        service("away", "host", "relocation-abroad", **{"#country+code+present": "GB", "#country+code+origin": "KE"})])
    data = await api.data(PLACES, codes=["KE", "GB", "UG"])
    got = {p["code"]: {c["serviceType"]: (c["present"], c["remote"]) for c in p["providers"]} for p in data["places"]}
    assert got == {"KE": {"relocation-abroad": (1, 0)}, "GB": {"relocation-abroad": (1, 0)}, "UG": {}}


async def test_taxonomy_has_labels(store: Store, api: Api) -> None:
    data = await api.data('{ taxonomy(scheme: "service-type") { code label } }')
    labels = {t["code"]: t["label"] for t in data["taxonomy"]}
    assert labels["legal-aid"] and "relocation-abroad" in labels


NESTED = """query($first: Int) { organisations(first: $first) { edges { node {
  name services { name organisation { name } }
  links { type target { name } } } } } }"""


async def test_nested_queries_cost_the_same_round_trips_for_5_or_50_results(store: Store, api: Api,
                                                                             live_server: LiveServer) -> None:
    orgs = [org(f"o{i:02}") for i in range(50)]
    services = [service(f"s{i:02}", f"o{i:02}") for i in range(50)]
    links = [{"#rel+type": "PARTNERS_WITH", "#org+id+source": f"o{i:02}", "#org+id+target": f"o{(i + 1) % 50:02}",
              "#meta+visibility": "public"} for i in range(50)]
    await load(store, orgs, services, links)

    graph = live_server.app.state.store.graph  # the server's own, which counts its statements

    async def trips(first: int) -> int:
        before = graph.round_trips
        data = await api.data(NESTED, first=first)
        assert len(data["organisations"]["edges"]) == first
        return int(graph.round_trips - before)

    few, many = await trips(5), await trips(50)
    # page, services, links, and the link targets outside the page: four or five, never one per result
    assert many <= few <= 5, (few, many)
