"""A publisher's log held in memory, for the federation tests: it signs entries and checkpoints and
serves pages exactly as the feed format says (federation/feed.py)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from federation import feed, merkle
from federation.canonical import canonical
from federation.keys import Root, SigningKey, seal

NOW = "2026-11-21T12:00:00Z"
LATER = "2026-11-22T12:00:00Z"


@dataclass
class Publisher:
    directory: str = "peer.example"
    audience: str = "public"
    root_keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.generate() for _ in range(3)])
    online: list[SigningKey] = field(default_factory=lambda: [SigningKey.generate()])
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def root(self) -> Root:
        return Root(self.directory, 1, "2027-11-21T00:00:00Z", {k.id: k.public for k in self.root_keys}, 2,
                    {k.id: k.public for k in self.online}, 1)

    def root_envelope(self) -> dict[str, Any]:
        return seal(self.root.signed(), self.root_keys[:2])

    def add(self, record: str, revision: int = 1, op: str = "upsert", body: dict[str, Any] | None = None,
            kind: str = "organisation", redistribute: bool = True) -> None:
        if op == "upsert" and body is None:
            body = {"id": f"{self.directory}:{record}", "name": record.title(), "visibility": self.audience}
        envelope = feed.entry(self.directory, self.audience, len(self.items), kind, f"{self.directory}:{record}",
                              revision, op, body, redistribute, self.online)
        self.items.append({"entry": envelope, "body": body})

    def leaves(self) -> list[bytes]:
        return [merkle.leaf_hash(canonical(i["entry"]["signed"])) for i in self.items]

    def checkpoint(self, size: int | None = None, issued: str = NOW, expires: str = LATER) -> dict[str, Any]:
        size = len(self.items) if size is None else size
        return feed.checkpoint(self.directory, self.audience, size, merkle.root(self.leaves()[:size]), issued,
                               expires, self.online)

    def page(self, cursor: int = 0, limit: int = 1000, checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
        cp = checkpoint or self.checkpoint()
        size = cp["signed"]["size"]
        end = min(cursor + limit, size)
        proof = merkle.consistency_proof(self.leaves()[:size], end) if end < size else []
        return copy.deepcopy({"checkpoint": cp, "entries": self.items[cursor:end], "proof": [p.hex() for p in proof]})

    def resign(self) -> None:
        """Every entry signed again with the current online keys, as a publisher does after a rotation."""
        for item in self.items:
            item["entry"] = seal(item["entry"]["signed"], self.online)
