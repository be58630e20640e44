"""CSV (HXL) imports: every class of bad input is refused clearly, and nothing is half-written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from directory.domain.errors import ValidationFailed
from directory.domain.viewer import STEWARD
from directory.exchange import demo, importer
from directory.formats import hxl
from directory.store import Filter as OrganisationFilter
from directory.store import Store
from tests.helpers import ORG_TAGS, SERVICE_TAGS, OnEach, Said, csv_bytes, load, org, refers, service

pytestmark = pytest.mark.anyio


async def count(store: Store) -> int:
    return (await store.list_organisations(STEWARD, OrganisationFilter())).total


async def refused(store: Store, orgs: list[dict[str, object]], services=None, links=None) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        await load(store, orgs, services, links)
    return caught.value


async def test_import_writes_records_with_namespaced_ids(store: Store) -> None:
    counts = await load(store, [org("alpha"), org("beta")], [service("alpha-legal", "alpha")])
    assert (counts.organisations, counts.services) == (2, 1)
    found = await store.organisation(STEWARD, "test:alpha")
    assert found.id == "test:alpha" and found.provenance and found.provenance.publisher == "test"


async def test_reimporting_the_same_file_changes_nothing(store: Store) -> None:
    await load(store, [org("alpha")], [service("alpha-legal", "alpha")])
    before = await store.organisation(STEWARD, "test:alpha")
    counts = await load(store, [org("alpha")], [service("alpha-legal", "alpha")])
    after = await store.organisation(STEWARD, "test:alpha")
    assert (counts.organisations, counts.services, counts.links) == (0, 0, 0)
    assert before.provenance == after.provenance


async def test_changed_record_gets_a_new_revision(store: Store) -> None:
    await load(store, [org("alpha")])
    await load(store, [org("alpha", **{"#description": "now with a description"})])
    found = await store.organisation(STEWARD, "test:alpha")
    assert found.provenance and found.provenance.revision == 2
    assert found.description == "now with a description"


async def test_a_grant_written_in_thousands_with_a_point_is_refused_naming_its_link(store: Store) -> None:
    """An operator's walk: "15.000" (fifteen thousand) imported as a grant of 15."""
    grant = {"#rel+type": "FUNDS", "#org+id+source": "donor", "#org+id+target": "group", "#value": "15.000",
             "#currency": "USD"}
    caught = await refused(store, [org("donor", **{"#org+type": "donor"}), org("group")], links=[grant])
    assert [(p.column, p.reason.split(":")[0]) for p in caught.problems] == [
        ("#value", "'15.000' may be thousands written with a point")]
    assert await count(store) == 0
    # a currency by its name: one problem, quoting it as written (it was two, "'DÓLARES'")
    caught = await refused(store, [org("donor", **{"#org+type": "donor"}), org("group")],
                           links=[{**grant, "#value": "15000", "#currency": "dólares"}])
    assert [(p.column, p.reason) for p in caught.problems] == [
        ("#currency", "'dólares' is not an ISO 4217 currency code (such as USD, EUR, COP)")]


@pytest.mark.parametrize(("row", "column", "reason"), [
    (org("x", **{"#country+code": "ZZ"}), "#country+code", "not an ISO 3166-1 country code"),
    (org("x", **{"#org+type": "spaceship"}), "#org+type", "not a known organisation-kind code"),
    (org("x", **{"#geo+lat": "north", "#geo+lon": "1"}), "#geo+lat", "not a number"),
    (org("x", **{"#geo+lat": "95", "#geo+lon": "1"}), "#geo+lat", "outside -90 to 90"),
    (org("x", **{"#geo+lat": "5"}), "#geo+lon", "give both or neither"),
    (org("x", **{"#org+name": "n" * 301}), "#org+name", "at most 300"),
    (org("x", **{"#description": "d" * 5001}), "#description", "at most 5000"),
    (org("x", **{"#org+name": ""}), "#org+name", "is required"),
    (org("x", **{"#org+lang": "english"}), "#org+lang", "not an ISO 639-1"),
    # an operator's walk: a list written with commas, and a country in Spanish, said not what to write
    (org("x", **{"#org+lang": "es, en"}), "#org+lang", "'es, en' holds several values: separate them with |"),
    (org("x", **{"#country+code": "Irlanda"}), "#country+code", "Ireland is IE"),
    (org("x", **{"#org+type": "ONG nacional"}), "#org+type", "the taxonomy lists them (`directory taxonomy list`"),
    (org("x", **{"#meta+visibility": "secret"}), "#meta+visibility", "not one of public, network, restricted"),
    (org("x", **{"#geo+precision": "street"}), "#geo+precision", "not one of exact"),
    (org("x", **{"#adm1+code": "XX-99"}), "#adm1+code", "not an ISO 3166-2"),
    (org("x", **{"#adm1+code": "PE-LIM"}), "#adm1+code", "Lima (PE-LIM) is not in Colombia (CO)"),
    (org("x", **{"#channel+contact": "carrier pigeon"}), "#channel+contact", "KIND:VALUE"),
    # a way to reach someone has its kind's shape, and a reason never repeats it
    (org("x", **{"#channel+contact": "signal:+00 000 0001|email:not-an-email"}), "#channel+contact",
     "item 2 is not an email address"),
    (org("x", **{"#channel+contact": "signal:hello world"}), "#channel+contact", "item 1 is not a Signal number"),
    (org("x", **{"#channel+contact": "url:javascript:alert(1)"}), "#channel+contact", "item 1 is not a web address"),
    (org("x", **{"#channel+contact": "matrix:someone"}), "#channel+contact", "item 1 is not a Matrix address"),
    (org("other-dir:x"), "#org+id", "belongs to directory 'other-dir'"),
    (org("bad id!"), "#org+id", "not a valid id"),
    (org("x", **{"#date+verified": "2099-01-01"}), "#date+verified", "is after today"),  # a peer's is kept as sent
])
async def test_each_bad_organisation_field_is_refused_with_line_column_and_reason(
        store: Store, row: dict[str, object], column: str, reason: str) -> None:
    error = await refused(store, [org("fine"), row])
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert (problem.line, problem.column) == (4, column)  # human header, hashtag row, fine, bad
    assert reason in problem.reason
    assert await count(store) == 0  # the valid row was not written either


async def test_only_this_directorys_own_writes_are_held_to_todays_date(store: Store) -> None:
    """A peer's record keeps the verification day its directory gave (its clock, its word): the day
    is checked where this directory writes (imports and edits), not where a peer's record is read."""
    from directory.domain import validation
    from directory.domain.validation import Row

    row = {"id": ("#org+id", "peer.example:x"), "name": ("#org+name", "X"), "kind": ("#org+type", "local-group"),
           "verified_on": ("#date+verified", "2099-01-01")}
    vocab = await store.vocabulary()
    received, _, problems = validation.organisation(Row(1, dict(row)), "peer.example", vocab)
    assert problems == [] and received is not None and received.verified.on == "2099-01-01"
    _, _, ours = validation.organisation(Row(1, dict(row)), "peer.example", vocab, validation.local_latest_day())
    assert [(p.column, p.template) for p in ours] == [
        ("#date+verified", "%(value)r is after today: record it once it has happened")]


async def test_every_bad_row_is_listed_not_just_the_first(store: Store) -> None:
    error = await refused(store, [org("a", **{"#country+code": "ZZ"}), org("b"), org("c", **{"#org+type": "x"})])
    assert [(p.line, p.column) for p in error.problems] == [(3, "#country+code"), (5, "#org+type")]
    assert "line 3" in str(error) and "line 5" in str(error) and "nothing was changed" in str(error)


async def test_duplicate_ids_in_one_file_are_refused(store: Store) -> None:
    error = await refused(store, [org("a"), org("a", name="Again")])
    assert error.problems[0].line == 4 and "appears twice" in error.problems[0].reason


async def test_a_row_refused_for_a_field_is_still_checked_against_the_others(store: Store) -> None:
    """An operator's walk: `--check` listed 23 problems, and once they were fixed, 4 more (an id
    twice, a provider and a link's end nowhere) that rows with a field's problem had hidden."""
    error = await refused(store, [org("a"), org("a", **{"#country+code": "ZZ"}), org("b", **{"#org+type": "x"})],
                          [service("s1", "nobody", kind="teleportation"), service("s2", "b"),
                           service("s2", "a", **{"#country+code+present": "ZZ"})],
                          [refers("a", "ghost", visibility="everyone")])
    said = [(p.source.rsplit("/", 1)[-1].split(".")[0] if p.source else "", p.line, p.column, p.reason)
            for p in error.problems]
    assert any(line == 4 and "appears twice" in reason for _, line, _, reason in said), said  # the second a
    assert any("'test:nobody'" in reason and column == "#org+id" for _, _, column, reason in said), said
    assert any(line == 5 and "appears twice" in reason for _, line, _, reason in said), said  # the second s2
    assert any("'test:ghost'" in reason for _, _, _, reason in said), said
    assert not any("'test:b'" in reason for _, _, _, reason in said), said  # b is there, if refused for its type


async def test_unknown_service_type_and_group_are_refused(store: Store) -> None:
    error = await refused(store, [org("a")], [service("s1", "a", kind="teleportation"),
                                              service("s2", "a", **{"#group+code": "wizards"})])
    reasons = sorted((p.column, p.reason) for p in error.problems)
    assert reasons[0][0] == "#group+code" and "defender-group" in reasons[0][1]
    assert reasons[1][0] == "#sector" and "service-type" in reasons[1][1]


async def test_a_near_miss_is_refused_with_what_was_meant(store: Store) -> None:
    """Was a walk's finding: an import said only that 'relocation-international' was not a known code,
    and that 'Honduras' was not a country code, where the filters already said what was meant."""
    error = await refused(store, [org("a", **{"#country+code": "Honduras"})],
                          [service("s1", "a", **{"#service+purpose": "relocation-abroard|medical-care",
                                                 "#sector": "emergency-grant"}),
                           service("s2", "a", **{"#country+code+remote": "Kenya|CO"})])
    reasons = {(p.record, p.column): p.reason for p in error.problems}
    assert reasons[("test:a", "#country+code")].endswith("'Honduras' is not an ISO 3166-1 country code; "
                                                         "Honduras is HN"), reasons
    assert "did you mean 'relocation-abroad'" in reasons[("test:s1", "#service+purpose")], reasons
    assert reasons[("test:s2", "#country+code+remote")].endswith("Kenya is KE"), reasons
    assert len(error.problems) == 3 and await count(store) == 0


async def test_purposes_are_refused_on_a_service_that_is_not_a_grant(store: Store) -> None:
    """A listing by type finds a service by its purposes: on a legal-aid service they would list it as
    a safe house. A grant's are taken."""
    pays = {"#service+purpose": "safe-house"}
    grant = service("s2", "a", "emergency-grant", **pays)
    error = await refused(store, [org("a")], [service("s1", "a", **pays), grant])
    assert [(p.line, p.column, p.record) for p in error.problems] == [(3, "#service+purpose", "test:s1")]
    assert "type legal-aid has no purposes" in error.problems[0].reason
    assert await count(store) == 0
    counts = await load(store, [org("a")], [grant])
    assert counts.services == 1


async def test_service_of_a_missing_organisation_is_refused(store: Store) -> None:
    error = await refused(store, [org("a")], [service("s1", "nobody")])
    assert "no organisation 'test:nobody'" in error.problems[0].reason


async def test_invalid_link_is_refused_and_nothing_is_written(store: Store) -> None:
    links = [{"#rel+type": "FUNDS", "#org+id+source": "a", "#org+id+target": "b", "#value": "10",
              "#currency": "XXQ", "#date+year": "2026"}]
    error = await refused(store, [org("a"), org("b")], links=links)
    assert "ISO 4217" in error.problems[0].reason
    assert await count(store) == 0


async def test_wrong_encoding_is_refused_with_its_line(store: Store) -> None:
    data = csv_bytes(ORG_TAGS, [org("a"), org("b", name="Café")])
    data = data.replace("Café".encode(), "Café".encode("latin-1"))
    with pytest.raises(ValidationFailed) as caught:
        hxl.read(data, "latin1.csv")
    assert caught.value.problems[0].line == 4 and "not UTF-8" in caught.value.problems[0].reason


async def test_unknown_hashtag_is_refused_so_no_column_is_silently_dropped() -> None:
    data = csv_bytes(["#org+id", "#org+name", "#org+typo"], [{"#org+id": "a", "#org+name": "A"}])
    with pytest.raises(ValidationFailed) as caught:
        hxl.read(data, "typo.csv")
    assert caught.value.problems[0].column == "#org+typo"


async def test_file_without_hashtag_row_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        hxl.read(b"id,name\na,A\n", "plain.csv")
    assert "no HXL hashtag row" in caught.value.problems[0].reason


async def test_hashtag_attributes_match_in_any_order(store: Store) -> None:
    data = csv_bytes(["#org +id", "#org+NAME", "#org+type", "#country+code", "#org+alt+name"],
                     [{"#org +id": "a", "#org+NAME": "A", "#org+type": "donor", "#country+code": "KEN",
                       "#org+alt+name": "Alias one|Alias two"}])
    kind, rows = hxl.read(data, "order.csv")
    assert kind == "organisations"
    await importer.run(store, [importer.Parsed("order.csv", kind, rows)])
    found = await store.organisation(STEWARD, "test:a")
    assert found.aliases == ["Alias one", "Alias two"] and found.location and found.location.country == "KE"


async def test_areas_are_places_and_cover_their_countries(store: Store) -> None:
    await load(store, [org("a", **{"#country+code": "FR"})],
               [service("s", "a", **{"#country+code+present": "FR", "#country+code+remote": "subregion:Central Asia"})])
    services = (await store.services_of(STEWARD, ["test:a"]))["test:a"]
    assert [(c.place, c.presence.value) for c in services[0].coverage] == [("143", "remote"), ("FR", "present")]
    kyrgyz = await store.list_organisations(STEWARD, OrganisationFilter(country="KG"))
    peruvian = await store.list_organisations(STEWARD, OrganisationFilter(country="PE"))
    assert [o.id for o in kyrgyz.items] == ["test:a"] and peruvian.items == []


async def test_unknown_area_is_refused(store: Store) -> None:
    error = await refused(store, [org("a")], [service("s", "a", **{"#country+code+remote": "region:Atlantis"})])
    assert "UN M49" in error.problems[0].reason


async def test_a_large_import_is_staged_and_still_all_or_nothing_for_bad_input(store: Store) -> None:
    bad = [org("a"), org("b"), org("c", **{"#country+code": "ZZ"})]
    inputs = [importer.Parsed("big.csv", *hxl.read(csv_bytes(ORG_TAGS, bad), "big.csv"))]
    with pytest.raises(ValidationFailed):
        await importer.run(store, inputs, atomic_rows=1)
    assert await count(store) == 0 and await store.unfinished_imports() == []
    good = [org(f"o{i}") for i in range(30)]
    inputs = [importer.Parsed("big.csv", *hxl.read(csv_bytes(ORG_TAGS, good), "big.csv"))]
    counts = await importer.run(store, inputs, atomic_rows=1)
    assert counts.organisations == 30 and await count(store) == 30
    assert await store.unfinished_imports() == []


@pytest.mark.parametrize("how", ["one transaction by its rows", "staged"])
async def test_an_import_too_many_words_for_the_search_indexes_at_once_is_written_in_smaller_transactions(
        store: Store, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """Organisations named in ideographs give the full-text indexes a term a character: a peer's page
    of ninety (two million terms) ran the embedded store out of memory, and an import one transaction
    holds by its rows, or a staged part, could as well. Each transaction keeps within
    `TRANSACTION_TERMS` (made small here), and all of it is written."""
    import random

    monkeypatch.setattr(importer, "TRANSACTION_TERMS", 20_000)
    chance = random.Random(3)
    rows = [org(f"o{i}", **{"#org+name+alt": "|".join("".join(chr(0x4E00 + chance.randrange(20_000))
                                                              for _ in range(300)) for _ in range(6))})
            for i in range(12)]
    inputs = [importer.Parsed("cjk.csv", *hxl.read(csv_bytes(ORG_TAGS, rows), "cjk.csv"))]
    held: list[int] = []
    transaction = store.transaction

    async def counted(work: Any, *args: Any, **kwargs: Any) -> Any:
        async def measured(tx: Any) -> Any:
            out = await work(tx)
            held.append(tx.terms)
            return out
        return await transaction(measured, *args, **kwargs)

    monkeypatch.setattr(store, "transaction", counted)
    said = Said()
    counts = await importer.run(store, inputs, said, atomic_rows=1 if how == "staged" else None)
    assert counts.organisations == 12 and await count(store) == 12
    assert len(held) > 1 and max(held) <= 20_000 and await store.unfinished_imports() == []
    assert ("writing it in parts" in " ".join(said)) == (how != "staged")
    stored = await store.organisations_by_id(STEWARD, ["test:o0"])
    assert len(stored["test:o0"].aliases) == 6


async def test_a_column_the_file_does_not_have_keeps_what_the_directory_holds(store: Store) -> None:
    """A steward's walk corrected a name from a file of ids and names: every description, language,
    contact channel and point it did not list was emptied, and a restricted record's visibility fell
    back to its kind's default (public for most). A column the file lacks keeps the field; a cell
    left empty in a column it has still empties it; a new record gets the defaults."""
    await load(store, [org("quiet", **{"#meta+visibility": "restricted", "#description": "Legal aid, quietly.",
                                        "#org+lang": "es|en", "#geo+lat": "4.61", "#geo+lon": "-74.08",
                                        "#geo+precision": "exact", "#channel+contact": "signal:+57 300 000 0000"})],
               [service("quiet-s", "quiet", **{"#meta+visibility": "restricted", "#capacity": "3",
                                               "#capacity+unit": "cases", "#service+response_hours": "12"})])
    names = ["#org+id", "#org+name", "#org+type", "#country+code"]
    rows = [{"#org+id": "quiet", "#org+name": "Quiet Legal Aid", "#org+type": "local-group", "#country+code": "CO"},
            {"#org+id": "newcomer", "#org+name": "Newcomer", "#org+type": "local-group", "#country+code": "CO"}]
    inputs = [importer.Parsed("names.csv", *hxl.read(csv_bytes(names, rows), "names.csv"))]
    said = Said()
    checked = await importer.import_inputs(store, inputs, check=True, progress=said)
    assert checked == importer.WriteCounts(2, 0, 0) and "keep what the directory holds" in " ".join(said)
    inputs = [importer.Parsed("names.csv", *hxl.read(csv_bytes(names, rows), "names.csv"))]
    await importer.run(store, inputs)
    held = await store.organisations_by_id(STEWARD, ["test:quiet", "test:newcomer"])
    quiet = held["test:quiet"]
    assert quiet.name == "Quiet Legal Aid" and quiet.visibility.value == "restricted"
    assert quiet.description == "Legal aid, quietly." and sorted(quiet.languages) == ["en", "es"]
    assert quiet.contact_channels == ["signal:+57 300 000 0000"]
    assert quiet.location is not None and (quiet.location.latitude, quiet.location.precision.value) == (4.61, "exact")
    assert held["test:newcomer"].visibility.value == "public" and held["test:newcomer"].description == ""
    # a column the file has, its cell left empty: emptied, as before
    emptied = [*names, "#description"]
    inputs = [importer.Parsed("e.csv", *hxl.read(csv_bytes(emptied, [{**rows[0], "#description": ""}]), "e.csv"))]
    await importer.run(store, inputs)
    quiet = (await store.organisations_by_id(STEWARD, ["test:quiet"]))["test:quiet"]
    assert quiet.description == "" and quiet.visibility.value == "restricted"
    # who may see it, its precision and its kind left empty keep what is held: their defaults show more
    kept = [*names, "#meta+visibility", "#geo+precision"]
    row = {**rows[0], "#meta+visibility": "", "#geo+precision": ""}
    inputs = [importer.Parsed("k.csv", *hxl.read(csv_bytes(kept, [row]), "k.csv"))]
    await importer.run(store, inputs)
    quiet = (await store.organisations_by_id(STEWARD, ["test:quiet"]))["test:quiet"]
    assert quiet.visibility.value == "restricted" and quiet.location is not None
    assert quiet.location.precision.value == "exact"
    # a service's file of ids, names and types keeps its capacity, visibility and response time
    tags = ["#service+id", "#org+id", "#service+name", "#sector"]
    inputs = [importer.Parsed("s.csv", *hxl.read(csv_bytes(tags, [{"#service+id": "quiet-s", "#org+id": "quiet",
                                                                  "#service+name": "Counsel", "#sector": "legal-aid"}]),
                                                 "s.csv"))]
    await importer.run(store, inputs)
    s = (await store.services_by_id(STEWARD, ["test:quiet-s"]))["test:quiet-s"]
    assert (s.name, s.visibility.value, s.capacity, s.response_hours) == ("Counsel", "restricted", 3, 12)
    assert [c.place for c in s.coverage] == ["CO"]


class Interrupted(Exception):
    """Raised from the progress callback: the import stops as if the machine had, once a part is committed."""


def _interrupt(line: str) -> None:
    if line.startswith("wrote "):
        raise Interrupted


interrupt_after_a_part = OnEach(_interrupt)

async def test_a_staged_import_interrupted_and_run_again_is_no_longer_unfinished(store: Store) -> None:
    def parsed(source: str, prefix: str) -> list[importer.Parsed]:
        rows = [org(f"{prefix}{i}") for i in range(30)]
        return [importer.Parsed(source, *hxl.read(csv_bytes(ORG_TAGS, rows), source))]

    for _ in range(2):  # interrupted twice: both runs are left unfinished
        with pytest.raises(Interrupted):
            await importer.run(store, parsed("big.csv", "o"), interrupt_after_a_part, atomic_rows=1)
    with pytest.raises(Interrupted):
        await importer.run(store, parsed("other.csv", "x"), interrupt_after_a_part, atomic_rows=1)
    assert sorted(r["sources"][0] for r in await store.unfinished_imports()) == ["big.csv", "big.csv", "other.csv"]
    await importer.run(store, parsed("big.csv", "o"), atomic_rows=1)  # the same import, run to the end
    assert [r["sources"] for r in await store.unfinished_imports()] == [["other.csv"]]  # only what is still unfinished
    await importer.run(store, parsed("other.csv", "x"), atomic_rows=1)
    assert await store.unfinished_imports() == [] and await count(store) == 60


async def test_an_update_replaces_places_and_coverage_instead_of_adding_to_them(store: Store) -> None:
    await load(store, [org("a", **{"#country+code": "CO"})],
               [service("s", "a", **{"#country+code+present": "CO", "#group+code": "women"})])
    await load(store, [org("a", **{"#country+code": "PE"})],
               [service("s", "a", **{"#country+code+present": "PE", "#group+code": "lgbtiq"})])
    in_colombia = await store.list_organisations(STEWARD, OrganisationFilter(country="CO"))
    in_peru = await store.list_organisations(STEWARD, OrganisationFilter(country="PE"))
    assert in_colombia.total == 0 and in_peru.total == 1
    svc = (await store.services_of(STEWARD, ["test:a"]))["test:a"][0]
    assert [c.place for c in svc.coverage] == ["PE"] and svc.groups == ["lgbtiq"]
    rows = await store.graph.read("MATCH (:Organisation {id: 'test:a'})-[r:BASED_IN]->(p) RETURN p.code AS code")
    assert rows == [{"code": "PE"}]


async def test_a_code_of_another_scheme_is_said_to_be_one(store: Store) -> None:
    """An operator's walk: a defender group written as a service's type read "not a known
    service-type code", which did not say what it was, or where the right one is."""
    error = await refused(store, [org("a")], [service("s", "a", kind="women", **{"#group+code": "legal-aid"})])
    assert sorted(p.reason for p in error.problems) == [
        "'legal-aid' is a service-type code, not a defender-group code",
        "'women' is a defender-group code, not a service-type code"]


async def test_an_added_taxonomy_term_is_accepted_at_once(store: Store) -> None:
    with pytest.raises(ValidationFailed):
        await load(store, [org("a")], [service("s", "a", kind="funeral-support")])
    await store.add_term("service-type", "funeral-support", "Support with funerals")
    await load(store, [org("a")], [service("s", "a", kind="funeral-support")])
    assert (await store.services_of(STEWARD, ["test:a"]))["test:a"][0].type == "funeral-support"


@pytest.mark.pure
def test_one_transaction_holds_what_the_embedded_stores_heap_allows() -> None:
    """A fresh 512m store ran out of memory on an import of 38,641 new rows in one transaction, and
    on 15,109 rows changing records it held: one holds 25 rows a MB beyond the store's own 256 MB,
    and at most 100,000 on any store."""
    from types import SimpleNamespace

    from directory.store import EmbeddedStore

    def on(heap: str | None) -> int:
        embedded = None if heap is None else EmbeddedStore(Path("unused"), heap=heap)
        return importer.one_transaction(SimpleNamespace(embedded=embedded))  # type: ignore[arg-type]

    assert on("512m") == 6_400 < 15_109 and on("1g") == 19_200 and on("4g") == 96_000
    assert on("8G") == 100_000 and on("300m") == 1_100 and on("256m") == 1_000  # never none
    assert on(None) == importer.ATOMIC_ROWS  # Neo4j


async def test_imports_on_one_folder_write_one_after_the_other(store: Store) -> None:
    """A crash probe saw two large imports writing at once leave the embedded store's indexes damaged
    (an ArcadeDB fault): on one data folder, an import waits for the one writing, and says so."""
    import asyncio

    from directory.store.engine import layout

    said: list[str] = []

    class Said:
        def __call__(self, message: str) -> None:
            said.append(message)

        def count(self, *args: object, **kwargs: object) -> None:
            pass

    assert store.embedded is not None
    inputs = [importer.Parsed("orgs.csv", *hxl.read(csv_bytes(ORG_TAGS, [org("waited")]), "orgs.csv"))]
    async with layout.importing(store.embedded.data, lambda: None):  # another import is writing
        second = asyncio.create_task(importer.run(store, inputs, Said()))
        await asyncio.sleep(1.5)
        assert not second.done() and await count(store) == 0
        assert said == ["another import, or a publish of the feeds, is writing to this data folder: waiting for it"]
        assert layout.import_running(store.embedded.data)  # `directory status` says something is writing now
    assert (await second).organisations == 1 and await count(store) == 1
    assert not layout.import_running(store.embedded.data)


@pytest.mark.parametrize("how", ["check", "staged", "one transaction"])
async def test_a_voucher_in_the_same_import_is_found_by_a_check_and_a_staged_import(store: Store, how: str) -> None:
    """A hand-worked scenario: `import --check` refused a file naming a voucher the same file holds,
    which the import itself wrote (a staged import refused it too)."""
    tags = [*ORG_TAGS, "#org+vettedby"]
    rows = [org("member", "Gulu Women", **{"#org+vettedby": "network"}), org("network", "East Africa Network")]
    inputs = [importer.Parsed("orgs.csv", *hxl.read(csv_bytes(tags, rows), "orgs.csv"))]
    if how == "check":
        counted = await importer.import_inputs(store, inputs, check=True)
        assert counted == importer.WriteCounts(2, 0, 1)  # and the link to its voucher
        return
    await importer.run(store, inputs, atomic_rows=1 if how == "staged" else None)
    links = await store.links_from(STEWARD, ["test:member"])
    assert [(link.type, link.target) for link in links] == [("VETTED_BY", "test:network")]
    # a voucher neither in the import nor in the directory is still refused, naming its line and column
    nowhere = [org("other", "Other", **{"#org+vettedby": "nowhere"})]
    with pytest.raises(ValidationFailed) as failed:
        await importer.import_inputs(store, [importer.Parsed("o.csv", *hxl.read(csv_bytes(tags, nowhere), "o.csv"))],
                                     check=True)
    assert "no organisation 'test:nowhere'" in str(failed.value) and "#org+vettedby" in str(failed.value)


async def test_a_staged_import_is_known_again_by_another_path_to_its_file_and_one_that_wrote_nothing_is_not_left(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash read: run again from another folder, the import finished what the first left, and
    `status` still said to run it again; one that failed before writing anything said so too."""
    import os

    big = tmp_path / "big.csv"
    big.write_bytes(csv_bytes(ORG_TAGS, [org(f"o{i}") for i in range(30)]))

    def parsed(source: str) -> list[importer.Parsed]:
        return [importer.Parsed(source, *hxl.read(big.read_bytes(), source))]

    with pytest.raises(Interrupted):
        await importer.run(store, parsed(os.path.relpath(big)), interrupt_after_a_part, atomic_rows=1)
    assert len(await store.unfinished_imports()) == 1
    await importer.run(store, parsed(str(big)), atomic_rows=1)  # the same file, by its absolute path
    assert await store.unfinished_imports() == []

    async def refused(*args: object, **kwargs: object) -> None:
        raise Interrupted  # the store refused the first part: nothing committed

    monkeypatch.setattr(store, "transaction", refused)
    with pytest.raises(Interrupted):
        await importer.run(store, parsed(str(big)), atomic_rows=1)
    assert await store.unfinished_imports() == []


async def test_a_staged_import_failing_after_a_part_says_that_part_was_written(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash read: a sync beside a staged import kept its services part out, and the import said
    "it was not made" while its organisations were live."""
    from directory.domain.errors import StoreError

    transaction, parts = store.transaction, []

    async def kept_out(*args: object, **kwargs: object) -> object:
        parts.append(1)
        if len(parts) == 2:
            raise StoreError("other writes to the same records kept this one out for 30 s (Neo.TransientError."
                             "Transaction.DeadlockDetected); it was not made: run it again when fewer writes are "
                             "going on")
        return await transaction(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "transaction", kept_out)
    inputs = [importer.Parsed("orgs.csv", *hxl.read(csv_bytes(ORG_TAGS, [org("a")]), "orgs.csv")),
              importer.Parsed("services.csv", *hxl.read(csv_bytes(SERVICE_TAGS, [service("s", "a")]),
                                                        "services.csv"))]
    with pytest.raises(StoreError, match="but 1 of this import's 2 parts were written before it"):
        await importer.run(store, inputs, atomic_rows=1)
    assert await count(store) == 1 and len(await store.unfinished_imports()) == 1

    # a full disk (another crash read): its own words, and what was written, said beside them
    def full(*args: object, **kwargs: object) -> object:
        parts.append(1)
        if len(parts) == 2:
            raise OSError(28, "No space left on device")
        return transaction(*args, **kwargs)  # type: ignore[arg-type]

    parts.clear()
    monkeypatch.setattr(store, "transaction", full)
    said = Said()
    with pytest.raises(OSError, match="No space left"):
        await importer.run(store, inputs, atomic_rows=1, progress=said)
    assert any("1 of this import's 2 parts were written before it failed" in line for line in said), said


def _services(rows: list[dict[str, object]]) -> list[importer.Parsed]:
    return [importer.Parsed("services.csv", *hxl.read(csv_bytes(SERVICE_TAGS, rows), "services.csv"))]


async def test_an_import_lists_the_same_problems_as_a_check_whichever_way_it_writes(store: Store) -> None:
    """Was an integrator's walk: with a bad status on one row, an import no longer wrote the rows after
    it, so it never saw that the next gave a shelter's service a subdivision: 1 problem, where
    `--check` listed 2. A check, a one-transaction import and a staged one now list the same."""
    await demo.load(store)
    before = await store.services_by_id(STEWARD, ["test:s1", "test:s2"])
    rows = [service("s1", "fict-casa-respiro", **{"#status": "sleeping"}),
            service("s2", "fict-casa-respiro", "relocation-in-country", **{"#country+code+present": "CO-ANT"})]
    found = {}
    for how in ("check", "one transaction", "staged"):
        with pytest.raises(ValidationFailed) as failed:
            if how == "check":
                await importer.import_inputs(store, _services(rows), check=True)
            else:
                await importer.run(store, _services(rows), atomic_rows=1 if how == "staged" else None)
        found[how] = [(p.source, p.line, p.column, p.record, p.reason) for p in failed.value.problems]
    assert found["one transaction"] == found["check"] == found["staged"], found
    where = [(line, column) for _, line, column, _, _ in found["check"]]
    assert where == [(3, "#status"), (4, "#country+code+present")]
    assert "would show where Casa Respiro" in found["check"][1][4]
    assert await store.services_by_id(STEWARD, ["test:s1", "test:s2"]) == before == {}


async def test_every_files_problems_are_listed_each_naming_its_file_and_nothing_is_written(
        store: Store, tmp_path: Path) -> None:
    """Was an integrator's walk: an unknown hashtag in one file hid every other file's problems, and
    its line named no file (`line 1, column #org+colour`, or `input, column ...`)."""
    (tmp_path / "orgs.csv").write_bytes(csv_bytes(ORG_TAGS, [org("a", **{"#country+code": "ZZ"})]))
    (tmp_path / "cols.csv").write_bytes(csv_bytes([*ORG_TAGS, "#org+colour"], [org("b", **{"#org+colour": "red"})]))
    ragged = csv_bytes(ORG_TAGS, [org("c", **{"#org+type": "no-such-kind"}), org("d")])
    (tmp_path / "ragged.csv").write_bytes(ragged + b"e,E,local-group,CO" + b"," * 14 + b"\n")
    (tmp_path / "empty.csv").write_bytes(b"")
    files = [str(tmp_path / n) for n in ("orgs.csv", "cols.csv", "ragged.csv", "empty.csv")]
    for check in (True, False):
        with pytest.raises(ValidationFailed) as failed:
            await importer.import_inputs(store, importer.read_files("csv", files), check=check)
        problems = [(Path(p.source).name, p.line, p.column) for p in failed.value.problems]
        assert sorted(problems) == [("cols.csv", 2, "#org+colour"), ("empty.csv", 0, "hashtag row"),
                                    ("orgs.csv", 3, "#country+code"), ("ragged.csv", 3, "#org+type"),
                                    ("ragged.csv", 5, "row")], problems
        said = str(failed.value)
        assert f"{tmp_path / 'cols.csv'}, line 2, column #org+colour: is not a hashtag" in said, said
        assert f"{tmp_path / 'empty.csv'}, column hashtag row: no HXL hashtag row" in said, said
        assert await count(store) == 0
    # one file's own problems name it too, each line
    with pytest.raises(ValidationFailed) as alone:
        hxl.read((tmp_path / "cols.csv").read_bytes(), "cols.csv")
    assert "\n  cols.csv, line 2, column #org+colour" in str(alone.value)


@pytest.mark.pure
def test_a_column_under_no_hashtag_or_a_hashtag_twice_is_named_and_said_what_to_do() -> None:
    """An operator's walk: the columns "Ciudad" and "Servicios" left without a hashtag were dropped
    without a word, and "a hashtag appears twice" said neither which nor what to do. An empty column
    under no hashtag is nothing lost, so it is no problem."""
    data = (b"Nombre,Ciudad,Contacto,Contacto 2,Notas\n#org+id,,#channel+contact,#channel+contact,\n"
            b"a,Quito,email:a@example.org,phone:+593 2 222,\nb,,,,\nc,Cuenca,,,\n")
    problems = hxl.parse(data, "socios.csv", "organisations").problems
    assert [(p.line, p.column, p.reason.split(":")[0]) for p in problems] == [
        (2, "#channel+contact", "appears twice"), (3, "2", "holds values under no hashtag, which an import would "
                                                             "leave out")]
    assert "its values separated by |" in problems[0].reason and "take the column out" in problems[1].reason
    said = str(hxl_refused(data))
    assert "socios.csv, line 3, column 2: holds values under no hashtag" in said, said


def hxl_refused(data: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as failed:
        hxl.read(data, "socios.csv", "organisations")
    return failed.value


async def test_problems_name_the_column_as_the_file_has_it(store: Store) -> None:
    """Was an integrator's walk: a missing kind was `column kind` where the file's column is
    `#org+type`, and an id twice `column id` where it is `#org+id`."""
    tags = ["#org+id", "#org+name", "#country+code"]  # no #org+type
    data = csv_bytes(tags, [{"#org+id": "a", "#org+name": "A", "#country+code": "CO"}])
    short = csv_bytes(ORG_TAGS, [org("b"), org("b")]) + b"c,C\n"  # a row that stops before its #org+type cell
    inputs = [importer.Parsed("kindless.csv", *hxl.read(data, "kindless.csv")),
              importer.Parsed("short.csv", *hxl.read(short, "short.csv"))]
    with pytest.raises(ValidationFailed) as failed:
        await importer.import_inputs(store, [*inputs, *_services([service("s", "b"), service("s", "b")])], check=True)
    assert [(p.source, p.line, p.column) for p in failed.value.problems] == [
        ("kindless.csv", 3, "#org+type"), ("short.csv", 4, "#org+id"), ("short.csv", 5, "#org+type"),
        ("services.csv", 4, "#service+id")]
    assert "kindless.csv, line 3, column #org+type (record test:a): is required" in str(failed.value)


async def test_every_indicator_files_problems_are_listed_naming_its_columns(store: Store) -> None:
    """As for records: the first indicator file's problems hid the next one's, and a column the file
    lacks was named by our field (`source`), not its hashtag."""
    tags = ["#country+code", "#indicator+name", "#indicator+value", "#date+year"]  # no #meta+source
    first = csv_bytes(tags, [{"#country+code": "CO", "#indicator+name": "risk", "#indicator+value": "3",
                              "#date+year": "2024"}])
    second = csv_bytes([*tags, "#meta+source"], [{"#country+code": "ZZ", "#indicator+name": "risk",
                                                  "#indicator+value": "3", "#date+year": "2024", "#meta+source": "x"}])
    inputs = [importer.read_csv("first.csv", first), importer.read_csv("second.csv", second)]
    with pytest.raises(ValidationFailed) as failed:
        await importer.import_inputs(store, inputs)
    assert [(p.source, p.line, p.column) for p in failed.value.problems] == [
        ("first.csv", 3, "#meta+source"), ("second.csv", 3, "#country+code")]
    assert await store.graph.read("MATCH (n:Indicator) RETURN n.key AS key LIMIT 1") == []


@pytest.mark.pure
@pytest.mark.parametrize(("value", "is_phone"), [
    ("(601) 744-9333", True), ("(41) 3232-4660", True), ("(+57) 601 744 9333", True), ("+57 (601) 744-9333", True),
    ("+1 555 010 0000 ext 2", True), ("112", True), ("12", False), ("Calle 5 #3-20", False), ("Apartado 4411", False),
])
def test_a_phone_is_read_as_people_write_it(value: str, is_phone: bool) -> None:
    """An operator's walk: `(601) 744-9333` was refused by a message saying brackets are allowed."""
    from directory.domain import channels

    assert channels.phone(value) is is_phone
