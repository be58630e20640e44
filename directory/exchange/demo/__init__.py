"""The demo data: real protection organisations, and clearly fictional local groups (see README.md here)."""

from __future__ import annotations

from importlib import resources

from directory.exchange import importer
from directory.formats import hxl, indicators
from directory.store import Store, WriteCounts

FILES = ("organisations.csv", "services.csv", "links.csv")


def parsed() -> list[importer.Parsed]:
    out = []
    for name in FILES:
        data = resources.files("directory.exchange.demo").joinpath(name).read_bytes()
        kind, rows = hxl.read(data, f"demo/{name}")
        out.append(importer.Parsed(f"demo/{name}", kind, rows))
    return out


async def load(store: Store) -> WriteCounts:
    """Add the demo records the store does not hold yet. A demo organisation already in the store
    is left exactly as it is, with its services and the links it starts from, whether or not
    someone changed it: loading the demo never undoes anyone's work. The need indicators are
    illustrative (the file says so in its first line)."""
    batch = await importer.validate(store, parsed())
    new = {o.id for o in batch.organisations} - await store.existing_organisations(
        [o.id for o in batch.organisations])
    counts = await store.upsert([o for o in batch.organisations if o.id in new],
                                [s for s in batch.services if s.organisation in new],
                                [link for link in batch.links if link.source in new])
    if new:
        source = "demo/indicators.csv"
        _, rows = hxl.read(resources.files("directory.exchange.demo").joinpath("indicators.csv").read_bytes(), source)
        await store.write_indicators(indicators.validate(rows, source))
    return counts


async def load_into_empty(store: Store) -> WriteCounts | None:
    """The demo, only into a store that has never held a record (`serve --demo` at every start):
    None when the store holds or held records, even if they were all deleted since."""
    if not await store.is_empty():
        return None
    return await load(store)
