"""HSDS 3.0 exports validate against the official schemas, obey visibility, and import back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from directory.domain.errors import ValidationFailed
from directory.domain.model import Organisation, Service
from directory.domain.viewer import ANONYMOUS, STEWARD
from directory.exchange import demo, exports, importer
from directory.formats import hsds
from directory.store import Edit, Store
from tests.conftest import SHARED, WIPE
from tests.helpers import shown_in_cell

pytestmark = pytest.mark.anyio
HSDS = SHARED / "hsds-3.0"  # Open Referral's schemas and examples, vendored: tests/data/hsds-3.0/README.md
COMPILED = HSDS / "schema" / "compiled"


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((COMPILED / f"{name}.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


async def test_every_exported_record_validates_against_the_official_schemas(store: Store, tmp_path: Path) -> None:
    await demo.load(store)
    counts = await exports.export_hsds(store, STEWARD, tmp_path)
    organisations = json.loads((tmp_path / "organizations.json").read_text())
    services = json.loads((tmp_path / "services.json").read_text())
    assert len(organisations) == counts["organizations"] == 62 and len(services) == counts["services"] == 83
    for name, records in (("organization", organisations), ("service", services)):
        check = validator(name)
        for record in records:
            errors = list(check.iter_errors(record))
            assert not errors, f"{record['name']}: {errors[0].message}"


def test_the_validator_catches_a_broken_record() -> None:
    broken = {"id": "not-a-uuid", "name": "X", "status": "open"}
    assert list(validator("service").iter_errors(broken))


async def test_public_export_holds_only_public_records_at_published_precision(store: Store, tmp_path: Path) -> None:
    await demo.load(store)
    await exports.export_hsds(store, ANONYMOUS, tmp_path)
    text = (tmp_path / "organizations.json").read_text() + (tmp_path / "services.json").read_text()
    for hidden in ("Casa Respiro", "Harbour House", "Sierra Legal", "Quiet Harbour", "Nairobi Defenders Health",
                   "Trauma counselling", "signal:"):
        assert hidden not in text
    # The demo's fictional numbers are +00 000 ...: only a public intake channel may show one.
    assert "+00 000" not in re.sub(r'"public [a-z-]+:\+00 000[0-9 ]*"', "", text)
    organisations = {o["name"]: o for o in json.loads((tmp_path / "organizations.json").read_text())}
    rio = organisations["Río Claro Land Defenders Collective (fictional)"]["locations"][0]
    assert shown_in_cell(rio["latitude"], rio["longitude"], 6.98, -75.2, 1.0, "CO-ANT")
    assert "6.98" not in text


async def test_export_then_import_into_an_empty_store_gives_the_same_records(store: Store, tmp_path: Path) -> None:
    await demo.load(store)
    # an operator's walk: no description came back as the name, a capacity without a unit as "units"
    await store.upsert([Organisation("test:bare", "Bare", "local-group")],
                       [Service("test:bare-s", "test:bare", "Beds", "safe-house", capacity=3)], [])
    before = {o.id: o for page in [p async for p in store.each_organisation(STEWARD)] for o in page}
    before_services = await store.services_of(STEWARD, sorted(before))
    await exports.export_hsds(store, STEWARD, tmp_path)
    await store.graph.write(WIPE)
    orgs, ids = hsds.parse_organisations((tmp_path / "organizations.json").read_bytes(), "organizations.json")
    svcs = hsds.parse_services((tmp_path / "services.json").read_bytes(), "services.json", ids)
    await importer.run(store, [orgs, svcs])
    after = {o.id: o for page in [p async for p in store.each_organisation(STEWARD)] for o in page}
    assert sorted(after) == sorted(before)
    for oid, org in before.items():
        again = after[oid]
        assert (again.name, again.kind, again.visibility, again.aliases, again.languages, again.identifiers,
                again.location, again.description) == (org.name, org.kind, org.visibility, org.aliases, org.languages,
                                                       org.identifiers, org.location, org.description)
    after_services = await store.services_of(STEWARD, sorted(before))
    strip = lambda services: [(s.id, s.type, s.groups, s.coverage, s.capacity, s.capacity_unit,  # noqa: E731
                               s.response_hours, s.visibility) for s in services]
    assert {k: strip(v) for k, v in after_services.items()} == {k: strip(v) for k, v in before_services.items()}


async def test_foreign_hsds_file_is_checked_like_any_other_input(store: Store) -> None:
    example = json.loads((HSDS / "examples" / "organization_full.json").read_text())
    orgs, _ = hsds.parse_organisations(json.dumps(example).encode(), "organization_full.json", "national-ngo")
    # The official example carries latitude 100: refused, with the JSON path of the field.
    with pytest.raises(ValidationFailed) as caught:
        await importer.run(store, [orgs])
    assert [(p.column, p.reason) for p in caught.value.problems] == [
        ("$.locations[0].latitude", "100 is outside -90 to 90")]
    example["locations"][0]["latitude"] = 10
    orgs, _ = hsds.parse_organisations(json.dumps(example).encode(), "organization_full.json", "national-ngo")
    counts = await importer.run(store, [orgs])
    found = await store.organisation(STEWARD, "test:" + example["id"])
    assert counts.organisations == 1 and found.name == example["name"] and found.kind == "national-ngo"


async def test_a_foreign_hsds_file_naming_a_record_we_hold_keeps_who_may_see_it(store: Store) -> None:
    """A publisher's HSDS file says nothing of who may see a record (ours writes it as an attribute):
    read as the kind's default, a restricted organisation named again became public (an attacker's
    read). Who may see it, its precision and its kind keep what is held; a new record takes the defaults."""
    record = org_json(7)
    rid = "test:" + str(record["id"])
    first, _ = hsds.parse_organisations(dumps([record]), "first.json", "national-ngo")
    await importer.run(store, [first])
    found = await store.organisation(STEWARD, rid)
    assert found.provenance is not None
    await store.save_organisation(STEWARD, Edit({"id": rid, "visibility": "restricted"}), found.provenance.revision)
    again, _ = hsds.parse_organisations(dumps([{**record, "name": "Renamed"}]), "again.json", "national-ngo")
    await importer.run(store, [again])
    found = await store.organisation(STEWARD, rid)
    assert (found.name, found.visibility.value) == ("Renamed", "restricted")


# --- malformed files: a clear ValidationFailed with file, line, JSON path and reason; never a traceback


def org_json(n: int, **fields: object) -> dict[str, object]:
    record: dict[str, object] = {"id": f"00000000-0000-4000-8000-{n:012d}", "name": f"Organisation {n}",
                                 "description": "d"}
    record.update(fields)
    return record


def dumps(records: object) -> bytes:
    return json.dumps(records, indent=1).encode()  # one field per line: records start on known lines


def problems_of(data: bytes, parse: str = "organisations") -> list[tuple[int, str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        if parse == "organisations":
            hsds.parse_organisations(data, "in/organizations.json", "national-ngo")
        else:
            hsds.parse_services(data, "in/services.json", {})
    failed = caught.value
    assert failed.source == f"in/{'organizations' if parse == 'organisations' else 'services'}.json"
    assert all(p.source == failed.source for p in failed.problems)
    assert str(failed).startswith(f"{failed.source}: {len(failed.problems)} problem(s), nothing was changed")
    return [(p.line, p.column, p.reason) for p in failed.problems]


def test_json_that_cannot_be_read_is_refused_with_its_line_and_column() -> None:
    assert problems_of(b'[\n {"id": "a",\n  "name": }\n]') == [(3, "11", "is not valid JSON: Expecting value")]
    assert problems_of(b'[\n {"name": "Caf\xe9 Rights"}\n]') == [
        (2, "15", "is not UTF-8 text (byte 16); save the file as UTF-8 and try again")]
    assert problems_of(b'[{"id": "a", "name": "A"},]') == [(1, "27", "is not valid JSON: Expecting value")]
    # What was read before the break is reported too.
    assert problems_of(b'[1, {"id": "a", "name": 5}, ]') == [
        (1, "$[0]", "is a number; each element of the file is an HSDS organization object"),
        (1, "$[1].name", "is a number; HSDS wants a string here"), (1, "29", "is not valid JSON: Expecting value")]
    assert problems_of(b"[] []") == [(1, "4", "is not valid JSON: Extra data")]
    assert problems_of(b"") == [(1, "1", "is not valid JSON: Expecting value")]


def test_deep_nesting_is_refused_before_the_parser_recurses() -> None:
    deep_arrays = b"[" * 200_000 + b"]" * 200_000
    assert problems_of(deep_arrays) == [(1, "65", "is nested deeper than 64 levels; HSDS needs far fewer")]
    deep_objects = b'{"a":' * 5_000 + b"1" + b"}" * 5_000
    assert problems_of(deep_objects) == [(1, "321", "is nested deeper than 64 levels; HSDS needs far fewer")]
    inside = b'[\n{"id": "x", "name": "y", "attributes": ' + b"[" * 100 + b"]" * 100 + b"}]"
    assert problems_of(inside) == [(2, "102", "is nested deeper than 64 levels; HSDS needs far fewer")]
    # Brackets inside strings are text, not nesting.
    orgs, _ = hsds.parse_organisations(dumps([org_json(1, name="[" * 1000, description='"{' * 1000)]), "o.json")
    assert orgs.rows[0].fields["name"][1] == "[" * 1000


def test_a_top_level_that_is_not_an_array_of_objects_is_refused() -> None:
    assert problems_of(b'"organisations"') == [
        (1, "$", "is a string; an HSDS file is a JSON array of organization objects")]
    assert problems_of(b"null") == [(1, "$", "is null; an HSDS file is a JSON array of organization objects")]
    assert problems_of(dumps([org_json(1), 5, "x", None, []])) == [
        (7, "$[1]", "is a number; each element of the file is an HSDS organization object"),
        (8, "$[2]", "is a string; each element of the file is an HSDS organization object"),
        (9, "$[3]", "is null; each element of the file is an HSDS organization object"),
        (10, "$[4]", "is an array; each element of the file is an HSDS organization object")]
    many = problems_of(b"[" + b",".join([b"1"] * 50_000) + b"]")  # listed up to a limit, never exhausting memory
    assert len(many) == hsds.MAX_PROBLEMS + 1 and many[-1] == (0, "file", "reading stopped after 10000 problems")


def test_every_field_of_the_wrong_json_type_is_listed_with_its_path() -> None:
    records = [
        org_json(0),
        org_json(1, locations="Bogotá"),
        org_json(2, attributes=[{"id": "a"}, {}, {"value": 5}, "visibility", None,
                                {"taxonomy_term": "protection-directory/visibility"}]),
        org_json(3, name=7, description=["d"], alternate_name={"en": "x"}, website=None, email=False),
        org_json(4, locations=[{"latitude": "4.5", "longitude": True, "external_identifier": 170,
                                "addresses": {"country": "CO"}, "attributes": [{"taxonomy_term": {"code": 1}}]}]),
        org_json(5, organization_identifiers=[{"identifier_scheme": "GB-CHC", "identifier": 1234567}]),
        org_json(6, id=None, name=None),
    ]
    starts = [2 + sum(len(json.dumps(r, indent=1).splitlines()) for r in records[:n]) for n in range(len(records))]
    assert problems_of(dumps(records)) == [
        (starts[1], "$[1].locations", "is a string; HSDS wants an array here"),
        (starts[2], "$[2].attributes[2].value", "is a number; HSDS wants a string here"),
        (starts[2], "$[2].attributes[3]", "is a string; HSDS wants an object here"),
        (starts[2], "$[2].attributes[4]", "is null; HSDS wants an object here"),
        (starts[2], "$[2].attributes[5].taxonomy_term", "is a string; HSDS wants an object here"),
        (starts[3], "$[3].name", "is a number; HSDS wants a string here"),
        (starts[3], "$[3].alternate_name", "is an object; HSDS wants a string here"),
        (starts[3], "$[3].description", "is an array; HSDS wants a string here"),
        (starts[3], "$[3].email", "is a boolean; HSDS wants a string here"),
        (starts[4], "$[4].locations[0].latitude", "is a string; HSDS wants a number here"),
        (starts[4], "$[4].locations[0].longitude", "is a boolean; HSDS wants a number here"),
        (starts[4], "$[4].locations[0].external_identifier", "is a number; HSDS wants a string here"),
        (starts[4], "$[4].locations[0].addresses", "is an object; HSDS wants an array here"),
        (starts[4], "$[4].locations[0].attributes[0].taxonomy_term.code", "is a number; HSDS wants a string here"),
        (starts[5], "$[5].organization_identifiers[0].identifier", "is a number; HSDS wants a string here"),
        (starts[6], "$[6].id", "is null; HSDS organization objects require it"),
        (starts[6], "$[6].name", "is null; HSDS organization objects require it")]


def test_numbers_and_text_json_cannot_carry_are_refused() -> None:
    nan = b'[{"id": "a", "name": "A", "locations": [{"latitude": NaN, "longitude": 1}]}]'
    assert problems_of(nan) == [(1, "$[0]", "holds NaN, which is not JSON")]
    huge = b'[{"id": "a", "name": "A", "locations": [{"latitude": 1' + b"0" * 400 + b', "longitude": 1e999}]}]'
    assert problems_of(huge) == [(1, "$[0].locations[0].latitude", "is too large a number"),
                                 (1, "$[0].locations[0].longitude", "is too large a number")]
    surrogate = b'[{"id": "a", "name": "\\ud800"}]'
    assert problems_of(surrogate) == [(1, "$[0].name", "holds a lone surrogate (such as \\ud800), which is not text")]
    twice = b'[{"id": "a", "name": "A", "name": "B"}]'
    assert problems_of(twice) == [(1, "$[0]", "has the key 'name' twice in one object")]


def test_duplicated_ids_are_refused_naming_both_places() -> None:
    records = [org_json(1), org_json(2), org_json(1, name="Again")]
    assert problems_of(dumps(records)) == [
        (12, "$[2].id", "'00000000-0000-4000-8000-000000000001' appears twice; first at $[0].id (line 2)")]


def test_a_malformed_services_file_is_refused_the_same_way() -> None:
    service = {"id": "00000000-0000-4000-8000-00000000000a", "name": "Legal aid", "status": "active",
               "organization_id": "00000000-0000-4000-8000-000000000001"}
    records = [dict(service, service_areas={"extent": "CO"}, languages=["es"]),
               dict(service, id="00000000-0000-4000-8000-00000000000b", organization_id=None, status=1,
                    eligibility_description=["defenders"], fees_description=0)]
    assert [(path, reason) for _, path, reason in problems_of(dumps(records), "services")] == [
        ("$[0].languages[0]", "is a string; HSDS wants an object here"),
        ("$[0].service_areas", "is an object; HSDS wants an array here"),
        ("$[1].organization_id", "is null; HSDS service objects require it"),
        ("$[1].status", "is a number; HSDS wants a string here"),
        ("$[1].eligibility_description", "is an array; HSDS wants a string here"),
        ("$[1].fees_description", "is a number; HSDS wants a string here")]


def test_the_official_examples_pass_the_checks_and_rows_carry_the_line_of_their_record() -> None:
    for name in ("organization_full.json", "organization_list.json"):
        hsds.parse_organisations((HSDS / "examples" / name).read_bytes(), name)
    for name in ("service_full.json", "service_list.json"):
        hsds.parse_services((HSDS / "examples" / name).read_bytes(), name, {})
    orgs, _ = hsds.parse_organisations(dumps([org_json(1), org_json(2)]), "o.json")
    assert [(row.line, row.fields["name"]) for row in orgs.rows] == [(2, ("$[0].name", "Organisation 1")),
                                                                    (7, ("$[1].name", "Organisation 2"))]


async def test_a_malformed_file_writes_nothing_even_beside_valid_records(store: Store) -> None:
    good = org_json(1, attributes=[hsds._attribute("x", "organization", "organisation-kind", "national-ngo", "N")])
    bad = org_json(2, locations="Bogotá")
    with pytest.raises(ValidationFailed):
        orgs, _ = hsds.parse_organisations(dumps([good, bad]), "organizations.json")
        await importer.run(store, [orgs])
    assert [o for page in [p async for p in store.each_organisation(STEWARD)] for o in page] == []
    orgs, _ = hsds.parse_organisations(dumps([good]), "organizations.json")
    assert (await importer.run(store, [orgs])).organisations == 1


async def test_a_malformed_services_file_hides_no_problem_of_the_organisations(store: Store, tmp_path: Path) -> None:
    """As with CSV files: a malformed services.json was the only file whose problems were listed."""
    (tmp_path / "organizations.json").write_bytes(dumps([org_json(1, website="not an address")]))
    (tmp_path / "services.json").write_bytes(dumps([{
        "id": "00000000-0000-4000-8000-00000000000a", "name": "Legal aid", "status": "active",
        "organization_id": "00000000-0000-4000-8000-000000000001", "service_areas": {"extent": "CO"}}]))
    with pytest.raises(ValidationFailed) as failed:
        await importer.import_inputs(store, importer.read_files("hsds", [str(tmp_path)], default_kind="national-ngo"))
    assert [(Path(p.source).name, p.column) for p in failed.value.problems] == [
        ("organizations.json", "$[0].website"), ("services.json", "$[0].service_areas")]


@pytest.mark.pure
def test_a_folder_without_services_says_it_imports_organisations_only(tmp_path: Path) -> None:
    """An integrator's walk: a folder copied without services.json imported with no word of it."""
    (tmp_path / "organizations.json").write_bytes(dumps([org_json(1)]))
    said: list[str] = []

    class Told:
        def __call__(self, message: str) -> None:
            said.append(message)

        def count(self, doing: str, done: int, unit: str, total: int | None = None, note: str = "") -> None:
            pass

    inputs = importer.read_files("hsds", [str(tmp_path)], default_kind="national-ngo", progress=Told())
    assert [p.kind for p in inputs] == ["organisations"]
    assert said == [f"{tmp_path / 'services.json'}: not found: organisations only, no services"]


async def test_another_publishers_hsds_says_which_of_our_attributes_it_lacks(store: Store, tmp_path: Path) -> None:
    """An integrator's walk: HSDS from another publisher was refused with `$[0].attributes: is
    required`, which did not say that an organisation's kind or a service's type is wanted, nor
    where it goes."""
    (tmp_path / "organizations.json").write_bytes(dumps([org_json(1)]))
    (tmp_path / "services.json").write_bytes(dumps([{
        "id": "00000000-0000-4000-8000-00000000000a", "name": "Legal aid", "status": "active",
        "organization_id": "00000000-0000-4000-8000-000000000001"}]))
    with pytest.raises(ValidationFailed) as failed:
        await importer.import_inputs(store, importer.read_files("hsds", [str(tmp_path)]))
    assert [(Path(p.source).name, p.column) for p in failed.value.problems if "required" in p.reason] == [
        ("organizations.json", "$[0].attributes[protection-directory/organisation-kind]"),
        ("services.json", "$[0].attributes[protection-directory/service-type]")]
