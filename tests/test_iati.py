"""IATI funding import: matching by identifier, what is reported, what stays restricted, bad files."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from directory.base.config import Settings
from directory.domain.errors import ValidationFailed
from directory.domain.model import Visibility
from directory.domain.viewer import ANONYMOUS, STEWARD
from directory.formats import iati
from directory.store import Store
from tests.helpers import load, org
from tests.test_cli import DIRECTORY

SAMPLE = Path(__file__).resolve().parents[1] / "directory" / "exchange" / "demo" / "iati-activities.xml"
IDS = {"xx-fict-solidarity-fund": "test:fund", "xx-fict-lakeside-rights": "test:lake",
       "xx-fict-kampala-legal": "test:kampala"}


async def directory(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, in its own process, attached to the test's running store."""
    return await asyncio.to_thread(subprocess.run, [*DIRECTORY, "--data", str(settings.data_dir), "--id", "test",
                                                    *args], capture_output=True, text=True, check=True)


def activity(transactions: str, version: str = "2.03", currency: str = 'default-currency="EUR"') -> bytes:
    return f"""<?xml version="1.0"?>
<iati-activities version="{version}"><iati-activity {currency}>
<iati-identifier>A-1</iati-identifier><reporting-org ref="XX-FICT-FUND"><narrative>Fund</narrative></reporting-org>
<title><narrative>Title</narrative></title>{transactions}</iati-activity></iati-activities>""".encode()


def test_sample_matches_aggregates_and_reports() -> None:
    transactions = iati.parse(SAMPLE.read_bytes(), "sample.xml")
    assert [(t.kind, t.receiver, t.amount, t.currency) for t in transactions] == [
        ("2", "XX-FICT-LAKESIDE-RIGHTS", 30000, "EUR"), ("3", "XX-FICT-LAKESIDE-RIGHTS", 15000, "EUR"),
        ("3", "XX-FICT-KAMPALA-LEGAL", 8000, "USD"), ("3", "XX-FICT-NOT-IN-DIRECTORY", 5000, "EUR")]  # type 4 left out
    outcome = iati.to_links(transactions, IDS, set())
    assert outcome.matched == 3 and outcome.skipped == 1
    by_target = {link.target: link for link in outcome.links}
    lake = by_target["test:lake"]  # disbursements count where there are any: 15000, not 30000 + 15000
    assert (lake.source, lake.properties["amount"], lake.properties["currency"], lake.properties["year"]) == (
        "test:fund", 15000, "EUR", 2026)
    assert lake.key == "iati:XX-FICT-SOLIDARITY-FUND-2026-01:2026:EUR"
    assert "disbursed" in str(lake.properties["purpose"])
    assert all(link.visibility is Visibility.RESTRICTED for link in outcome.links)
    (missing,) = outcome.unmatched
    assert (missing.ref, missing.roles, missing.transactions) == ("XX-FICT-NOT-IN-DIRECTORY", {"receiver"}, 1)
    public = iati.to_links(transactions, IDS, {"xx-fict-solidarity-fund"})
    assert all(link.visibility is Visibility.PUBLIC for link in public.links)


def test_an_identifier_held_twice_is_never_guessed() -> None:
    transactions = iati.parse(SAMPLE.read_bytes(), "sample.xml")
    outcome = iati.to_links(transactions, {**IDS, "xx-fict-kampala-legal": None}, set())
    assert "test:kampala" not in {link.target for link in outcome.links}
    assert any(u.ref == "XX-FICT-KAMPALA-LEGAL" and u.several for u in outcome.unmatched)


def test_bad_transactions_are_named_by_activity_transaction_and_field() -> None:
    bad = activity("""
<transaction><transaction-type code="3"/><value value-date="2026-01-01">lots</value>
  <receiver-org ref="XX-A"/></transaction>
<transaction><transaction-type code="3"/><value value-date="2026-01-01" currency="ZZZ">10</value>
  <receiver-org ref="XX-A"/></transaction>
<transaction><transaction-type code="3"/><value>10</value><receiver-org ref="XX-A"/></transaction>
<transaction><transaction-type code="1"/><value value-date="2026-01-01">-5</value></transaction>
<transaction><transaction-type code="3"/><value value-date="2026-01-01">10</value></transaction>""")
    with pytest.raises(ValidationFailed) as error:
        iati.parse(bad, "bad.xml")
    assert [(p.record, p.column, p.reason) for p in error.value.problems] == [
        ("A-1", "transaction 1 value", "'lots' is not a number"),
        ("A-1", "transaction 2 value", "'ZZZ' is not an ISO 4217 currency code"),
        ("A-1", "transaction 3 value-date", "needs a value-date or transaction-date (YYYY-MM-DD)"),
        ("A-1", "transaction 4 value", "-5 is negative"),
        ("A-1", "transaction 4 provider-org", "names no organisation identifier (ref), and none can be assumed"),
        ("A-1", "transaction 5 receiver-org", "names no organisation identifier (ref), and none can be assumed"),
    ]


def test_a_bad_or_future_day_is_named_not_replaced() -> None:
    """An integrator's walk: a value-date of 2026-02-31 was passed over for the transaction-date, and
    a disbursement dated 2031 became funding of 2031. A day is read as written or refused; money
    that moved (a disbursement, incoming funds) is not dated after today; a commitment may be."""
    bad = activity("""
<transaction><transaction-type code="3"/><transaction-date iso-date="2026-01-15"/>
  <value value-date="2026-02-31">10</value><receiver-org ref="XX-A"/></transaction>
<transaction><transaction-type code="3"/><value value-date="2031-04-01">10</value>
  <receiver-org ref="XX-A"/></transaction>
<transaction><transaction-type code="3"/><transaction-date iso-date="26-1-5"/><value>10</value>
  <receiver-org ref="XX-A"/></transaction>
<transaction><transaction-type code="2"/><value value-date="2031-04-01">10</value>
  <receiver-org ref="XX-A"/></transaction>""")
    with pytest.raises(ValidationFailed) as error:
        iati.parse(bad, "bad.xml")
    assert [(p.column, p.reason) for p in error.value.problems] == [
        ("transaction 1 value-date", "'2026-02-31' is not a day (YYYY-MM-DD)"),
        ("transaction 2 value-date",
         "'2031-04-01' is after today: a disbursement or incoming funds cannot be dated ahead"),
        ("transaction 3 transaction-date", "'26-1-5' is not a day (YYYY-MM-DD)"),
    ]


def test_unsafe_or_foreign_files_are_refused() -> None:
    bomb = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>
<iati-activities version="2.03"><iati-activity><iati-identifier>&b;</iati-identifier></iati-activity>
</iati-activities>"""
    for data, words in ((bomb, "reads safely"), (activity("", version="1.05"), "2.0x"), (b"<not xml", "reads safely")):
        with pytest.raises(ValidationFailed, match=words):
            iati.parse(data, "f.xml")


@pytest.mark.anyio
async def test_import_writes_restricted_funding_unless_the_publisher_is_named(store: Store,
                                                                             settings: Settings) -> None:
    await load(store, [org("fund", **{"#org+type": "donor", "#org+code": "XX-FICT:SOLIDARITY-FUND"}),
                       org("lake", **{"#org+code": "XX-FICT:LAKESIDE-RIGHTS"}),
                       org("kampala", **{"#org+code": "XX-FICT:KAMPALA-LEGAL"})])
    args = ["import", "--format", "iati", str(SAMPLE)]
    assert "nothing was written" in (await directory(settings, *args, "--check")).stdout
    assert await store.links_of(STEWARD, ["test:fund"], "out") == []
    out = (await directory(settings, *args)).stdout
    assert "3 matched into 2 funding links (0 public, 2 restricted)" in out and "XX-FICT-NOT-IN-DIRECTORY" in out
    assert len(await store.links_of(STEWARD, ["test:fund"], "out")) == 2
    assert await store.links_of(ANONYMOUS, ["test:fund"], "out") == []
    await directory(settings, *args, "--public-from", "XX-FICT-SOLIDARITY-FUND")
    assert [link.target for link in await store.links_of(ANONYMOUS, ["test:fund"], "out")] == [
        "test:kampala", "test:lake"]
