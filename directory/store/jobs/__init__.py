"""The reads behind the jobs (gaps, partners, referral paths, coverage counts), through the door.

Each read applies the viewer inside its query, like every record read, and notes the restricted
records it gave the job in the audit log: a steward's gap matrix or referral chain leaves the same
lines as reading those records through GraphQL.
"""

from __future__ import annotations

from collections.abc import Callable

from directory.domain import places
from directory.domain.model import Indicator
from directory.domain.viewer import Viewer
from directory.store.engine.graph import Graph
from directory.store.jobs import gaps, partners, referrals
from directory.store.records import coverage, needs
from directory.store.shown import Shown


class JobReads:
    def __init__(self, graph: Graph, note: Callable[[Viewer, Shown], None]) -> None:
        self._graph = graph
        self._note = note

    async def gap_offers(self, viewer: Viewer, types: list[str] | None,
                         group: str | None) -> dict[str, list[gaps.Offer]]:
        shown = Shown()
        found = await gaps.offers(self._graph, viewer, types, group, shown)
        self._note(viewer, shown)
        return found

    async def grants(self, viewer: Viewer, recipients: list[str], since: int) -> list[gaps.Grant]:
        shown = Shown()
        found = await gaps.grants(self._graph, viewer, recipients, since, shown)
        self._note(viewer, shown)
        return found

    async def indicators(self, viewer: Viewer, names: list[str] | None = None) -> list[Indicator]:
        return await needs.read(self._graph, viewer.params, names)

    async def indicator_names(self, viewer: Viewer) -> list[str]:
        return await needs.names(self._graph, viewer.params)

    async def partners_reaching(self, viewer: Viewer, source: str, types: list[str],
                                where: places.Place) -> list[partners.Candidate]:
        shown = Shown()
        found = await partners.reaching(self._graph, viewer, source, types, where, shown)
        self._note(viewer, shown)
        return found

    async def partners_near(self, viewer: Viewer, source: str, types: list[str], latitude: float, longitude: float,
                            radius_km: float) -> list[partners.Candidate]:
        shown = Shown()
        found = await partners.near(self._graph, viewer, source, types, latitude, longitude, radius_km, shown)
        self._note(viewer, shown)
        return found

    async def referral_graph(self, viewer: Viewer, source: str, service_type: str, where: places.Place,
                             max_hops: int, group: str | None = None,
                             language: str | None = None) -> referrals.ReferralGraph:
        shown = Shown()
        found = await referrals.fetch(self._graph, viewer, source, service_type, where, max_hops, shown, group,
                                      language)
        self._note(viewer, shown)
        return found

    async def vetters(self, viewer: Viewer, ids: list[str]) -> dict[str, list[str]]:
        shown = Shown()
        found = await referrals.vetters(self._graph, viewer, ids, shown)
        self._note(viewer, shown)
        return found

    async def provider_counts(self, viewer: Viewer, wanted: list[places.Place],
                              group: str | None = None) -> dict[str, list[coverage.ProviderCount]]:
        """Counts only: no record's id reaches the viewer, so nothing to note."""
        return await coverage.provider_counts(self._graph, viewer, wanted, group)
