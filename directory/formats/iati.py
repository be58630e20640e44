"""Donor funding from IATI activity files (standard versions 2.01 to 2.03).

Each incoming-funds, commitment or disbursement transaction (types 1, 2, 3) names a provider and a
receiver organisation by IATI organisation identifier (`ref`). Both are matched to directory
organisations by their identifiers (`#org+code`); a transaction whose either end does not match
is left out and reported. Matched transactions become FUNDS links, one per donor, recipient,
activity, year and currency: disbursements where there are any, otherwise commitments.

IATI data is public, but a directory that ties a grant to a local group can endanger that group,
so funding imported this way is restricted unless its publisher (the activity's reporting
organisation) is named as having marked it public (`public_publishers`).

The XML is parsed with defusedxml: no DTDs, no entity expansion, no external references.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # only for types: parsing goes through defusedxml
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date

import defusedxml.ElementTree as SafeET
import pycountry
from defusedxml import DefusedXmlException

from directory.domain.errors import Problem, ValidationFailed
from directory.domain.model import Link, Visibility
from directory.domain.validation import local_latest_day

TRANSACTION_TYPES = {"1": "incoming funds", "2": "commitment", "3": "disbursement"}
MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Transaction:
    activity: str
    index: int  # 1-based, within the activity
    kind: str  # "1" | "2" | "3"
    provider: str  # IATI organisation identifier
    provider_name: str
    receiver: str
    receiver_name: str
    amount: float
    currency: str
    year: int
    publisher: str
    title: str


@dataclass
class Unmatched:
    ref: str
    name: str
    several: bool = False  # True: more than one organisation holds this identifier, so none was picked
    roles: set[str] = field(default_factory=set)  # provider | receiver
    transactions: int = 0


@dataclass
class Outcome:
    links: list[Link]
    matched: int  # transactions that became (part of) a link
    unmatched: list[Unmatched]  # by identifier, most transactions first
    skipped: int  # transactions with an end that matched no organisation


def _text(element: ET.Element | None) -> str:
    if element is None:
        return ""
    narrative = element.find("narrative")
    return ((narrative.text if narrative is not None else element.text) or "").strip()


def _attribute(element: ET.Element, child: str, name: str) -> str:
    found = element.find(child)
    return (found.get(name) or "") if found is not None else ""


def _is_day(text: str) -> bool:
    """A calendar day as YYYY-MM-DD (IATI's xsd:date, whose time-zone suffix we do not take)."""
    try:
        return len(text) == 10 and date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def parse(data: bytes, source: str) -> list[Transaction]:
    """Every funding transaction in the file, or ValidationFailed naming each bad one."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(source, [Problem(0, "file", f"is {len(data)} bytes, at most {MAX_BYTES} are read")])
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException) as exc:
        raise ValidationFailed(source, [Problem(0, "file", f"is not an IATI XML file this reads safely: {exc}")]) \
            from None
    version = root.get("version", "")
    if root.tag != "iati-activities" or not version.startswith("2.0"):
        raise ValidationFailed(source, [Problem(0, "iati-activities", f"needs <iati-activities version=\"2.0x\">, "
                                                                      f"found <{root.tag} version={version!r}>")])
    out: list[Transaction] = []
    problems: list[Problem] = []
    latest = local_latest_day()  # today wherever the directory is
    for number, activity in enumerate(root.iter("iati-activity"), start=1):
        identifier = (activity.findtext("iati-identifier") or "").strip() or f"activity {number}"
        reporting = activity.find("reporting-org")
        publisher = (reporting.get("ref", "") if reporting is not None else "").strip()
        implementing = [p for p in activity.findall("participating-org") if p.get("role") == "4" and p.get("ref")]
        default_currency = activity.get("default-currency", "")
        title = _text(activity.find("title"))[:200]
        for index, tx in enumerate(activity.findall("transaction"), start=1):
            kind = _attribute(tx, "transaction-type", "code")
            if kind not in TRANSACTION_TYPES:
                continue
            where = f"transaction {index}"

            def fail(column: str, reason: str, where: str = where, record: str = identifier, **values: object) -> None:
                at = f"{where} {column}"
                problems.append(replace(Problem.of(0, at, reason, record, **values), source=source))

            value = tx.find("value")
            raw = (value.text or "").strip() if value is not None else ""
            amount = None
            try:
                amount = float(raw) if value is not None else None
            except ValueError:
                fail("value", "%(value)r is not a number", value=raw)
            if value is None:
                fail("value", "is required")
            elif amount is not None and amount < 0:
                fail("value", "%(value)g is negative", value=amount)
            currency = (value.get("currency") if value is not None else None) or default_currency
            if not currency or pycountry.currencies.get(alpha_3=currency.upper()) is None:
                if currency:
                    fail("value", "%(value)r is not an ISO 4217 currency code", value=currency)
                else:
                    fail("value", "has no currency, and the activity has no default-currency")
            value_day = _attribute(tx, "value", "value-date")
            day = value_day or _attribute(tx, "transaction-date", "iso-date")
            dated = "value-date" if value_day else "transaction-date"
            year = None
            if not day:
                fail("value-date", "needs a value-date or transaction-date (YYYY-MM-DD)")
            elif not _is_day(day):  # never the other date in its place: which one the publisher meant is unknown
                fail(dated, "%(value)r is not a day (YYYY-MM-DD)", value=day)
            elif kind != "2" and day > latest:  # a commitment may be for later; money moved is not
                fail(dated, "%(value)r is after today: a disbursement or incoming funds cannot be dated ahead",
                     value=day)
            else:
                year = int(day[:4])
            provider_el, receiver_el = tx.find("provider-org"), tx.find("receiver-org")
            provider = (provider_el.get("ref", "") if provider_el is not None else "").strip()
            receiver = (receiver_el.get("ref", "") if receiver_el is not None else "").strip()
            provider_name, receiver_name = _text(provider_el), _text(receiver_el)
            if kind == "1":  # incoming funds: the reporting organisation receives
                receiver = receiver or publisher
                receiver_name = receiver_name or _text(reporting)
            else:  # outgoing: the reporting organisation gives, to the one implementer if none is named
                provider = provider or publisher
                provider_name = provider_name or _text(reporting)
                if not receiver and len(implementing) == 1:
                    receiver, receiver_name = implementing[0].get("ref", ""), _text(implementing[0])
            if not provider:
                fail("provider-org", "names no organisation identifier (ref), and none can be assumed")
            if not receiver:
                fail("receiver-org", "names no organisation identifier (ref), and none can be assumed")
            if amount is None or amount < 0 or year is None or not provider or not receiver or not currency or \
                    pycountry.currencies.get(alpha_3=currency.upper()) is None:
                continue
            out.append(Transaction(identifier, index, kind, provider, provider_name, receiver, receiver_name, amount,
                                   currency.upper(), year, publisher, title))
    if problems:
        raise ValidationFailed(source, problems)
    return out


def to_links(transactions: list[Transaction], identifiers: dict[str, str | None],
             public_publishers: set[str]) -> Outcome:
    """FUNDS links for the transactions whose both ends match (`identifiers`: lower-cased IATI
    identifier to directory organisation id, None where several organisations hold it), and a
    report of the identifiers that did not match exactly one."""
    unmatched: dict[str, Unmatched] = {}
    groups: dict[tuple[str, str, str, int, str], list[Transaction]] = defaultdict(list)
    for t in transactions:
        ends = [(t.provider, t.provider_name, "provider"), (t.receiver, t.receiver_name, "receiver")]
        missing = [(ref, name, role) for ref, name, role in ends if identifiers.get(ref.lower()) is None]
        for ref, name, role in missing:
            entry = unmatched.setdefault(ref, Unmatched(ref, name, several=ref.lower() in identifiers))
            entry.roles.add(role)
            entry.transactions += 1
            entry.name = entry.name or name
        if not missing:
            groups[(str(identifiers[t.provider.lower()]), str(identifiers[t.receiver.lower()]), t.activity, t.year,
                    t.currency)].append(t)
    links = []
    matched = 0
    public = {p.lower() for p in public_publishers}
    for (donor, recipient, activity, year, currency), found in sorted(groups.items()):
        matched += len(found)
        paid = [t for t in found if t.kind in ("1", "3")]
        counted = paid or found
        links.append(Link(
            "FUNDS", donor, recipient,
            Visibility.PUBLIC if found[0].publisher.lower() in public else Visibility.RESTRICTED,
            key=f"iati:{activity}:{year}:{currency}",
            properties={"amount": round(sum(t.amount for t in counted), 2), "currency": currency, "year": year,
                        "purpose": f"{found[0].title} (IATI {activity}, "
                                   f"{'disbursed' if paid else 'committed'})".lstrip()}))
    ordered = sorted(unmatched.values(), key=lambda u: (-u.transactions, u.ref))
    return Outcome(links, matched, ordered, len(transactions) - matched)
