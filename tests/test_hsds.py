"""HSDS 3.0 exports validate against the official schemas, obey visibility, and import back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from directory import demo, exports, hsds, importer
from directory.errors import ValidationFailed
from directory.store.records import Store
from directory.viewer import ANONYMOUS, STEWARD
from tests.conftest import SHARED, WIPE
from tests.helpers import shown_in_cell

pytestmark = pytest.mark.anyio
COMPILED = SHARED / "hsds-3.0" / "schema" / "compiled"


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((COMPILED / f"{name}.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def quiet(_: str) -> None:
    return None


async def test_every_exported_record_validates_against_the_official_schemas(store: Store, tmp_path: Path) -> None:
    await demo.load(store)
    counts = await exports.export_hsds(store, STEWARD, tmp_path, quiet)
    organisations = json.loads((tmp_path / "organizations.json").read_text())
    services = json.loads((tmp_path / "services.json").read_text())
    assert len(organisations) == counts["organizations"] == 60 and len(services) == counts["services"] == 74
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
    await exports.export_hsds(store, ANONYMOUS, tmp_path, quiet)
    text = (tmp_path / "organizations.json").read_text() + (tmp_path / "services.json").read_text()
    for hidden in ("Casa Respiro", "Harbour House", "Sierra Legal", "Quiet Harbour", "Nairobi Defenders Health",
                   "Trauma counselling", "signal:", "+00 000"):
        assert hidden not in text
    organisations = {o["name"]: o for o in json.loads((tmp_path / "organizations.json").read_text())}
    rio = organisations["Río Claro Land Defenders Collective (fictional)"]["locations"][0]
    assert shown_in_cell(rio["latitude"], rio["longitude"], 6.98, -75.2, 1.0, "CO-ANT")
    assert "6.98" not in text


async def test_export_then_import_into_an_empty_store_gives_the_same_records(store: Store, tmp_path: Path) -> None:
    await demo.load(store)
    before = {o.id: o for page in [p async for p in store.each_organisation(STEWARD)] for o in page}
    before_services = await store.services_of(STEWARD, sorted(before))
    await exports.export_hsds(store, STEWARD, tmp_path, quiet)
    await store.graph.write(WIPE)
    orgs, ids = hsds.parse_organisations((tmp_path / "organizations.json").read_bytes(), "organizations.json")
    svcs = hsds.parse_services((tmp_path / "services.json").read_bytes(), "services.json", ids)
    await importer.run(store, [orgs, svcs])
    after = {o.id: o for page in [p async for p in store.each_organisation(STEWARD)] for o in page}
    assert sorted(after) == sorted(before)
    for oid, org in before.items():
        again = after[oid]
        assert (again.name, again.kind, again.visibility, again.aliases, again.languages, again.identifiers,
                again.location) == (org.name, org.kind, org.visibility, org.aliases, org.languages, org.identifiers,
                                    org.location)
    after_services = await store.services_of(STEWARD, sorted(before))
    strip = lambda services: [(s.id, s.type, s.groups, s.coverage, s.capacity, s.response_hours, s.visibility)  # noqa: E731
                              for s in services]
    assert {k: strip(v) for k, v in after_services.items()} == {k: strip(v) for k, v in before_services.items()}


async def test_foreign_hsds_file_is_checked_like_any_other_input(store: Store) -> None:
    example = json.loads((SHARED / "hsds-3.0" / "examples" / "organization_full.json").read_text())
    orgs, _ = hsds.parse_organisations(json.dumps(example).encode(), "organization_full.json", "national-ngo")
    # The official example carries latitude 100: refused, with the JSON path of the field.
    with pytest.raises(ValidationFailed) as caught:
        await importer.run(store, [orgs])
    assert [(p.column, p.reason) for p in caught.value.problems] == [
        ("[0].locations[0].latitude", "100 is outside -90 to 90")]
    example["locations"][0]["latitude"] = 10
    orgs, _ = hsds.parse_organisations(json.dumps(example).encode(), "organization_full.json", "national-ngo")
    counts = await importer.run(store, [orgs])
    found = await store.organisation(STEWARD, "test:" + example["id"])
    assert counts.organisations == 1 and found.name == example["name"] and found.kind == "national-ngo"
