"""HXL CSV exports: what a viewer may see, in the format imports read, and back again."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from directory import demo, exports, hxl, importer
from directory.store.records import Store
from directory.viewer import ANONYMOUS, STEWARD, Viewer
from tests.conftest import WIPE

pytestmark = pytest.mark.anyio


def quiet(_: str) -> None:
    return None


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        lines = list(csv.reader(f))
    return [dict(zip(lines[1], line, strict=True)) for line in lines[2:]]


async def snapshot(store: Store) -> tuple[list[object], list[object], list[object]]:
    orgs = [o for page in [p async for p in store.each_organisation(STEWARD)] for o in page]
    ids = [o.id for o in orgs]
    services = await store.services_of(STEWARD, ids)
    strip = lambda r: {k: v for k, v in vars(r).items() if k != "provenance"}  # noqa: E731
    return ([strip(o) for o in orgs], [strip(s) for i in ids for s in services[i]],
            [vars(lk) for lk in await store.links_from(STEWARD, ids)])


async def test_a_full_csv_export_imports_back_to_the_same_directory(store: Store, tmp_path: Path) -> None:
    await demo.load(store)
    before = await snapshot(store)
    counts = await exports.export_csv(store, STEWARD, tmp_path, quiet)
    assert counts == {"organisations": 60, "services": 74, "links": 34}
    await store.graph.write(WIPE)
    inputs = [importer.Parsed(name, *hxl.read((tmp_path / name).read_bytes(), name))
              for name in ("organisations.csv", "services.csv", "links.csv")]
    await importer.run(store, inputs)
    assert await snapshot(store) == before


async def test_a_public_csv_export_holds_no_hidden_record_link_or_funding(store: Store, tmp_path: Path) -> None:
    await demo.load(store)
    await exports.export_csv(store, ANONYMOUS, tmp_path, quiet)
    text = "".join((tmp_path / f"{k}.csv").read_text() for k in ("organisations", "services", "links"))
    for hidden in ("Casa Respiro", "Harbour House", "Sierra Legal", "Quiet Harbour", "signal:", "Core support",
                   "Legal aid fund", "6.98"):
        assert hidden not in text
    links = rows(tmp_path / "links.csv")
    assert {lk["#meta+visibility"] for lk in links} == {"public"}
    assert {(lk["#rel+type"], lk["#rel+purpose"]) for lk in links if lk["#rel+type"] == "FUNDS"} == {
        ("FUNDS", "Security equipment")}  # the one grant its donor published


async def test_a_member_sees_its_own_funding_but_not_other_restricted_grants(store: Store, tmp_path: Path) -> None:
    await demo.load(store)
    await exports.export_csv(store, Viewer("member", "test:fict-lakeside-rights"), tmp_path, quiet)
    funds = {lk["#rel+purpose"] for lk in rows(tmp_path / "links.csv") if lk["#rel+type"] == "FUNDS"}
    assert funds == {"Security equipment", "Core support"}  # its own restricted grant, and the public one


async def test_a_link_to_a_hidden_organisation_stays_hidden_even_from_its_other_end(store: Store,
                                                                                   tmp_path: Path) -> None:
    await demo.load(store)
    # The Legal aid fund comes from a restricted donor: showing the grant would show the donor.
    await exports.export_csv(store, Viewer("member", "test:fict-kampala-legal"), tmp_path, quiet)
    funds = {lk["#rel+purpose"] for lk in rows(tmp_path / "links.csv") if lk["#rel+type"] == "FUNDS"}
    assert "Legal aid fund" not in funds and "Quiet Harbour" not in (tmp_path / "organisations.csv").read_text()
