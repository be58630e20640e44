"""A synthetic directory of any size, for tests and benchmarks. Deterministic for a given seed.

The shape follows the field: many small local groups present in one place, few large
international NGOs reaching many countries remotely, referral links with a long tail (new links
prefer organisations that already receive many: a few hubs, most with one or two), a minority of
network and restricted records, and shelters that are never public. Every name says "Synthetic".
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from directory.base.clock import now
from directory.base.progress import QUIET, Progress
from directory.domain import places, taxonomy
from directory.domain.model import (
    Coverage,
    Link,
    Location,
    Organisation,
    Precision,
    Presence,
    Service,
    Verification,
    Visibility,
)
from directory.formats import hxl
from directory.formats.parsed import Batch
from directory.store import Store, Transaction, WriteCounts

KINDS = [("local-group", 62), ("national-ngo", 18), ("regional-network", 4), ("international-ngo", 2),
         ("donor", 3), ("shelter", 4), ("professional-body", 3), ("academic", 2), ("nhri", 1),
         ("government", 0.5), ("intergovernmental", 0.5)]
HOT = ["CO", "MX", "BR", "PH", "IN", "HN", "GT", "KE", "UG", "CD", "RU", "TR", "EG", "PK", "BD", "MM",
       "NI", "VE", "PE", "ZW", "NG", "ET", "IR", "BY", "KH", "TH", "ID", "NP", "LB", "TN"]
LANGS = ["en", "es", "fr", "ar", "ru", "pt", "sw", "tl", "hi", "tr", "fa", "my", "th", "id"]
SERVICE_CODES = [t.code for t in taxonomy.SERVICE_TYPES]
GROUP_CODES = [t.code for t in taxonomy.DEFENDER_GROUPS]


def _country(rng: random.Random, all_codes: list[str]) -> str:
    if rng.random() < 0.7:
        return HOT[min(int(rng.paretovariate(1.2)) - 1, len(HOT) - 1)]
    return rng.choice(all_codes)


def _wide_reach(rng: random.Random, codes: list[str], areas: list[str]) -> list[str]:
    """International services say "anywhere", name a region or sub-region, or list countries."""
    roll = rng.random()
    if roll < 0.35:
        return [places.WORLD]
    if roll < 0.7:
        return rng.sample(areas, rng.randint(1, 2))
    return rng.sample(codes, rng.randint(5, 30))


# No generated day is after this one: an import refuses a confirmation dated after today
# (`validation.local_latest_day`), and these files are imported as any other.
LAST_DAY = "2026-11-30"


def _verified(rng: random.Random) -> Verification:
    """Most records checked in the last two years, some never: freshness has something to tell apart."""
    if rng.random() < 0.15:
        return Verification()
    return Verification((date(2024, 1, 1) + timedelta(days=rng.randint(0, 1000))).isoformat(), "generated",
                        "generated")


def build(n: int, seed: int, directory_id: str) -> Batch:
    rng = random.Random(seed)
    countries = places.countries()
    # regions and sub-regions only: the same seed gives the same directory as before intermediate regions
    areas = sorted(code for code, a in places.areas().items() if a.kind in ("region", "subregion"))
    codes = sorted(c for c, p in countries.items() if p.region and p.latitude is not None)
    kinds, weights = zip(*KINDS, strict=True)
    batch = Batch()
    popularity: list[str] = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        oid = f"{directory_id}:gen-{i:07d}"
        country = _country(rng, codes)
        base = countries[country]
        vis = (Visibility.RESTRICTED if kind == "shelter" and rng.random() < 0.7 else
               Visibility.NETWORK if kind == "shelter" else
               rng.choices(list(Visibility), [80, 15, 5])[0])
        precision = Precision.COUNTRY if kind == "shelter" else rng.choice(
            [Precision.EXACT, Precision.LOCALITY, Precision.LOCALITY, Precision.ADMIN_AREA])
        lat = max(-89.0, min(89.0, (base.latitude or 0) + rng.uniform(-1.5, 1.5)))
        lon = max(-179.0, min(179.0, (base.longitude or 0) + rng.uniform(-1.5, 1.5)))
        if places.misplaced(country, None, lat, lon):  # a small country's jitter lands in its neighbour
            lat, lon = base.latitude or 0, base.longitude or 0  # no draw more: the records after stay the same
        langs = sorted({rng.choice(LANGS), "en"} if rng.random() < 0.6 else {rng.choice(LANGS)})
        batch.organisations.append(Organisation(
            id=oid, name=f"Synthetic {kind.replace('-', ' ')} {i:07d}", kind=kind, visibility=vis,
            description=f"Synthetic record {i} for tests and benchmarks.", languages=langs,
            contact_channels=[f"signal:+00 {i:07d}"] if rng.random() < 0.5 else [],
            identifiers=[f"XX-SYN:{i}"] if rng.random() < 0.3 else [],
            location=Location(round(lat, 5), round(lon, 5), precision, country, None), source="generated",
            verified=_verified(rng),
        ))
        wide = kind in ("international-ngo", "regional-network", "donor")
        for j in range(rng.randint(3, 8) if wide else rng.choice([1, 1, 1, 2, 2, 3])):
            present = [Coverage(country, Presence.PRESENT)]
            reach = _wide_reach(rng, codes, areas) if wide else (
                rng.sample(codes, rng.randint(1, 3)) if rng.random() < 0.2 else [])
            coverage = present + [Coverage(c, Presence.REMOTE) for c in sorted(set(reach) - {country})]
            confirmed = min(f"20{rng.randint(23, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", LAST_DAY)
            has_capacity = rng.random() < 0.4
            batch.services.append(Service(
                id=f"{oid}-s{j}", organisation=oid, name=f"Synthetic service {i}-{j}", type=rng.choice(SERVICE_CODES),
                visibility=Visibility.RESTRICTED if vis is Visibility.RESTRICTED else rng.choices(
                    list(Visibility), [85, 12, 3])[0],
                capacity=rng.randint(0, 40) if has_capacity else None,
                capacity_unit="cases per month" if has_capacity else "",
                capacity_confirmed=confirmed if has_capacity else "",
                response_hours=float(rng.choice([1, 6, 12, 24, 48, 72, 168])), languages=langs,
                coverage=coverage, groups=sorted(set(rng.sample(GROUP_CODES, rng.randint(0, 3)))),
                verified=_verified(rng) if rng.random() < 0.5 else Verification(),
            ))
        # Referral links with a long tail: most point at already popular organisations.
        if popularity:
            for _ in range(min(len(popularity), max(0, int(rng.expovariate(1 / 5))))):
                target = rng.choice(popularity) if rng.random() < 0.7 else batch.organisations[rng.randrange(i)].id
                if target != oid:
                    batch.links.append(Link("REFERS_TO", oid, target, Visibility.NETWORK, properties={
                        "response_hours": float(rng.choice([6, 12, 24, 48, 72])), "formal": rng.random() < 0.4,
                        "trust": round(rng.uniform(0.3, 1.0), 2)}))
                    popularity.append(target)
        popularity.append(oid)
        if kind == "donor" and i > 10:
            for _ in range(rng.randint(1, 5)):
                batch.links.append(Link("FUNDS", oid, batch.organisations[rng.randrange(i)].id, Visibility.RESTRICTED,
                                        key="2026", properties={"amount": float(rng.randint(1, 100) * 1000),
                                                                "currency": "EUR", "year": 2026}))
    batch.links = _dedupe(batch.links)
    return batch


def _dedupe(links: list[Link]) -> list[Link]:
    seen: dict[tuple[str, str, str, str], Link] = {}
    for link in links:
        seen.setdefault((link.type, link.source, link.target, link.key), link)
    return list(seen.values())


def write_csv(folder: Path, n: int, seed: int, directory_id: str) -> None:
    """The same synthetic directory as HXL CSV files, for import benchmarks and samples."""
    batch = build(n, seed, directory_id)
    folder.mkdir(parents=True, exist_ok=True)
    for kind, records, cells in (("organisations", batch.organisations, hxl.organisation_cells),
                                 ("services", batch.services, hxl.service_cells),
                                 ("links", batch.links, hxl.link_cells)):
        with (folder / f"{kind}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = hxl.Writer(kind, f)
            for record in records:
                writer.write(cells(record))  # type: ignore[arg-type]


CHUNK = 2000  # records written at a time, one progress line at most for each


async def load(store: Store, batch: Batch, progress: Progress = QUIET, per_transaction: int = 20_000) -> WriteCounts:
    """Write a batch in transactions of at most `per_transaction` records, organisations first, each
    committed as it ends (the embedded store holds a transaction in its heap: 10,000 generated
    organisations in one ran the default 512m out of memory), holding the import lock as an import
    does: never beside another import, nor a publish of the feeds (docs/store.md). Synthetic data is
    not input: a write that fails leaves the parts before it, and running it again writes the rest."""
    size = max(1, per_transaction)
    step = min(CHUNK, size)
    chunks: list[tuple[list[Organisation], list[Service], list[Link]]] = [
        *((batch.organisations[i:i + step], [], []) for i in range(0, len(batch.organisations), step)),
        *(([], batch.services[i:i + step], []) for i in range(0, len(batch.services), step)),
        *(([], [], batch.links[i:i + step]) for i in range(0, len(batch.links), step))]
    per = size // step  # chunks a transaction holds: at most `size` records
    parts = [chunks[i:i + per] for i in range(0, len(chunks), per)]
    total = len(batch.organisations) + len(batch.services) + len(batch.links)
    stamp, counts, sent = now(), WriteCounts(), 0
    async with store.importing(lambda: progress("another import, or a publish of the feeds, is writing to this "
                                                "data folder: waiting for it")):
        for part in parts:
            async def work(tx: Transaction, part: list[tuple[list[Organisation], list[Service], list[Link]]] = part
                           ) -> WriteCounts:
                written = WriteCounts()
                for orgs, services, links in part:
                    written += await tx.write(orgs, services, links, stamp)
                return written

            counts += await store.transaction(work)  # notes the restricted records it wrote, as `upsert` does
            sent += sum(len(orgs) + len(services) + len(links) for orgs, services, links in part)
            progress.count("wrote", sent, "records", total, note=f"to the store (committed every {size:,})")
    return counts
