"""The per-request context: the store, the viewer, and DataLoaders made fresh for each request.

Each loader turns the lookups of one level of a query into one store call, so a nested query
costs the same number of round trips for 5 results as for 100 (a test counts them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from strawberry.dataloader import DataLoader

from directory.base.budget import Slots
from directory.domain.model import Link, Organisation, Service
from directory.domain.viewer import Viewer
from directory.store import SameAsOf, Store


class LinkKey(NamedTuple):
    organisation: str
    direction: str  # out | in


@dataclass
class Context:
    store: Store
    viewer: Viewer
    slots: Slots | None = None  # the process's slots for expensive work; none: unbounded (tests, scripts)
    services: DataLoader[str, list[Service]] = field(init=False)
    organisations: DataLoader[str, Organisation | None] = field(init=False)
    links: DataLoader[LinkKey, list[Link]] = field(init=False)
    same_as: DataLoader[str, SameAsOf] = field(init=False)
    _ranks: dict[str, int] | None = field(default=None, init=False)

    async def peer_ranks(self) -> dict[str, int]:
        """Each peer's precedence, read once per request."""
        if self._ranks is None:
            self._ranks = await self.store.peers.precedence()
        return self._ranks

    def __post_init__(self) -> None:
        async def load_services(ids: list[str]) -> list[list[Service]]:
            found = await self.store.services_of(self.viewer, list(ids))
            return [found.get(i, []) for i in ids]

        async def load_organisations(ids: list[str]) -> list[Organisation | None]:
            found = await self.store.organisations_by_id(self.viewer, list(ids))
            return [found.get(i) for i in ids]

        async def load_links(keys: list[LinkKey]) -> list[list[Link]]:
            out: dict[LinkKey, list[Link]] = {k: [] for k in keys}
            for direction in ("out", "in"):
                ids = [k.organisation for k in keys if k.direction == direction]
                if not ids:
                    continue
                for link in await self.store.links_of(self.viewer, ids, direction):
                    owner = link.source if direction == "out" else link.target
                    out.setdefault(LinkKey(owner, direction), []).append(link)
            return [out[k] for k in keys]

        async def load_same_as(ids: list[str]) -> list[SameAsOf]:
            found = await self.store.same_as(self.viewer, list(ids))
            return [found.get(i, SameAsOf([])) for i in ids]

        self.same_as = DataLoader(load_fn=load_same_as)
        self.services = DataLoader(load_fn=load_services)
        self.organisations = DataLoader(load_fn=load_organisations)
        self.links = DataLoader(load_fn=load_links)
