"""Who is asking, and what that lets them see.

The store takes a `Viewer` on every read and applies it in the query itself, so no caller can
forget it. The rules (also in the README):

- anonymous: public records only;
- member of an organisation: public and network records, plus that organisation's own records
  whatever their visibility;
- steward: everything.

A record's `owner` is the organisation it belongs to (itself for an organisation, the provider for
a service). Locations are shown at their published precision, except to a steward and to the
owner's members, who see what was recorded.

So a viewer sees a record in one of three views: whole (stewards, the owner's members), network
(members of other organisations: network-only fields, the published location) or public
(anonymous: no network-only fields, the published location, and no place at all for a shelter
too few others share its place with). A record's revision and update time are shown per view:
a change that view cannot see does not show as a change in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from directory.domain.model import Visibility

# The visibilities each view sees (`Viewer.view`): the one table of who sees what, records and
# the items of an itemised field (intake channels) alike, and each feed's audience.
SEES: dict[str, tuple[Visibility, ...]] = {
    "public": (Visibility.PUBLIC,), "network": (Visibility.PUBLIC, Visibility.NETWORK), "whole": tuple(Visibility)}


@dataclass(frozen=True)
class Viewer:
    role: str = "anonymous"  # anonymous | member | steward
    organisation: str | None = None
    who: str = ""  # for the audit log: the API token's id, or "cli"

    def __post_init__(self) -> None:
        if self.role not in ("anonymous", "member", "steward"):
            raise ValueError(f"unknown role {self.role!r}")
        if self.role == "member" and not self.organisation:
            raise ValueError("a member viewer needs an organisation")

    @property
    def visible(self) -> list[str]:
        """The visibilities this viewer sees on any record."""
        return [v.value for v in SEES[self.view]]

    @property
    def params(self) -> dict[str, object]:
        """The query parameters every visibility-filtered query takes."""
        return {"see": self.visible, "viewer_org": self.organisation, "view": self.view}

    @property
    def view(self) -> str:
        """How this viewer sees records it does not own: whole, network or public."""
        return {"steward": "whole", "member": "network"}.get(self.role, "public")

    def view_of(self, owner: str) -> str:
        """How this viewer sees a record owned by `owner`."""
        return "whole" if self.sees_exact_location_of(owner) else self.view

    def sees_exact_location_of(self, owner: str) -> bool:
        return self.role == "steward" or (self.organisation is not None and self.organisation == owner)

    def may_write(self, owner: str) -> bool:
        """Stewards write anywhere; members write their own organisation's records only."""
        return self.role == "steward" or (self.role == "member" and self.organisation == owner)


ANONYMOUS = Viewer()
STEWARD = Viewer("steward", who="cli")
