"""The per-request context: the store, the viewer, and DataLoaders made fresh for each request."""

from __future__ import annotations

from dataclasses import dataclass, field

from strawberry.dataloader import DataLoader

from directory.model import Service
from directory.store.records import Store
from directory.viewer import Viewer


@dataclass
class Context:
    store: Store
    viewer: Viewer
    services: DataLoader[str, list[Service]] = field(init=False)

    def __post_init__(self) -> None:
        async def load_services(ids: list[str]) -> list[list[Service]]:
            found = await self.store.services_of(self.viewer, list(ids))
            return [found.get(i, []) for i in ids]

        self.services = DataLoader(load_fn=load_services)
