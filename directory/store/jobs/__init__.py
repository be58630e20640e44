"""The reads behind the jobs (gaps, partners, referral paths, coverage counts), through the door.

Each read applies the viewer inside its query, like every record read, and notes the restricted
records it gave the job in the audit log: a steward's gap matrix or referral chain leaves the same
lines as reading those records through GraphQL. A job works out its answer inside `Store.answer`,
so those lines are written together, and only once the answer reaches the viewer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from directory.domain import places
from directory.domain.model import Indicator, Visibility
from directory.domain.viewer import Viewer
from directory.store.engine.graph import Graph
from directory.store.jobs import gaps, partners, referrals
from directory.store.records import coverage, needs
from directory.store.shown import Shown

T = TypeVar("T")


class JobReads:
    def __init__(self, graph: Graph, note: Callable[[Viewer, Shown], None]) -> None:
        self._graph = graph
        self._note = note

    async def _noted(self, viewer: Viewer, read: Callable[..., Awaitable[T]], *args: Any) -> T:
        """`read` for this viewer, then the restricted records it gave noted in the audit log."""
        shown = Shown()
        found = await read(self._graph, viewer, shown, *args)
        self._note(viewer, shown)
        return found

    async def gap_offers(self, viewer: Viewer, types: list[str], group: str | None) -> dict[str, list[gaps.Offer]]:
        return await self._noted(viewer, gaps.offers, types, group)

    async def grants(self, viewer: Viewer, recipients: list[str], since: int) -> list[gaps.Grant]:
        """The funding these organisations received since that year (and undated)."""
        return await self._noted(viewer, gaps.grants, recipients, since)

    async def indicators(self, viewer: Viewer, names: list[str] | None = None) -> list[Indicator]:
        """The need indicators this viewer may see; the restricted ones noted, as a record read is."""
        found = await needs.read(self._graph, viewer.params, names)
        shown = Shown()
        shown.add("indicator", [i.key for i in found if i.visibility is Visibility.RESTRICTED])
        self._note(viewer, shown)
        return found

    async def indicator_names(self, viewer: Viewer) -> list[str]:
        """The names of the indicators this viewer may see, to say which there are."""
        return await needs.names(self._graph, viewer.params)

    async def partners_reaching(self, viewer: Viewer, source: str, types: list[str], where: places.Place,
                                **fit: Any) -> list[partners.Candidate]:
        """`fit`: who the partner is for (`partners.Fit`), by name; nothing: anyone."""
        return await self._noted(viewer, partners.reaching, source, types, where, partners.Fit(**fit))

    async def partners_near(self, viewer: Viewer, source: str, types: list[str], latitude: float, longitude: float,
                            radius_km: float, **fit: Any) -> list[partners.Candidate]:
        return await self._noted(viewer, partners.near, source, types, latitude, longitude, radius_km,
                                 partners.Fit(**fit))

    async def partner_networks(self, viewer: Viewer, ids: list[str]) -> dict[str, dict[str, str]]:
        return await self._noted(viewer, partners.networks, ids)

    async def referral_graph(self, viewer: Viewer, source: str, service_type: str, where: places.Place,
                             max_hops: int, group: str | None = None,
                             language: str | None = None) -> referrals.ReferralGraph:
        return await self._noted(viewer, referrals.fetch, source, service_type, where, max_hops, group, language)

    async def vetters(self, viewer: Viewer, ids: list[str]) -> dict[str, list[str]]:
        return await self._noted(viewer, referrals.vetters, ids)

    async def provider_counts(self, viewer: Viewer, wanted: list[places.Place],
                              group: str | None = None) -> dict[str, list[coverage.ProviderCount]]:
        """Counts only: no record's id reaches the viewer, so nothing to note."""
        return await coverage.provider_counts(self._graph, viewer, wanted, group)
