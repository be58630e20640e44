"""The demo data: real protection organisations, and clearly fictional local groups (see README.md here)."""

from __future__ import annotations

from importlib import resources

from directory import hxl, importer, indicators
from directory.store import needs
from directory.store.records import Store
from directory.store.writes import WriteCounts

FILES = ("organisations.csv", "services.csv", "links.csv")


def parsed() -> list[importer.Parsed]:
    out = []
    for name in FILES:
        data = resources.files("directory.demo").joinpath(name).read_bytes()
        kind, rows = hxl.read(data, f"demo/{name}")
        out.append(importer.Parsed(f"demo/{name}", kind, rows))
    return out


async def load(store: Store) -> WriteCounts:
    """Upsert the demo data; loading it twice changes nothing the second time. The need indicators
    are illustrative (the file says so in its first line)."""
    counts = await importer.run(store, parsed())
    source = "demo/indicators.csv"
    _, rows = hxl.read(resources.files("directory.demo").joinpath("indicators.csv").read_bytes(), source)
    await needs.write(store.graph, indicators.validate(rows, source))
    return counts
