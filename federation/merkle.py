"""The Merkle tree over a feed's entries, as Certificate Transparency defines it (RFC 9162, 2.1).

A leaf hash is SHA-256(0x00 || entry bytes), an inner node SHA-256(0x01 || left || right), and the
tree over n leaves splits at the largest power of two below n. A signed checkpoint commits to the
size and root of the tree; a reader who keeps the `Frontier` of the tree it has verified (at most
log2(n) subtree hashes) appends the new entries and must reach the checkpoint's root exactly, so a
reordered, duplicated, missing or altered entry, or a history rewritten before its cursor, cannot
pass. Consistency proofs let anyone check that one checkpoint extends another without the entries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: list[bytes]) -> bytes:
    """The tree head over leaf hashes."""
    return Tree.of(leaves).root()


@dataclass
class Frontier:
    """The perfect subtrees covering the first `size` leaves, largest first: enough to extend the tree."""

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> None:
        self.hashes.append(leaf)
        self.size += 1
        n = self.size
        while n % 2 == 0:  # merge equal neighbours, as a binary counter carries
            right = self.hashes.pop()
            left = self.hashes.pop()
            self.hashes.append(node_hash(left, right))
            n //= 2

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        out = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            out = node_hash(h, out)
        return out

    def copy(self) -> Frontier:
        return Frontier(self.size, list(self.hashes))

    def to_json(self) -> dict[str, object]:
        return {"size": self.size, "hashes": [h.hex() for h in self.hashes]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Frontier:
        hashes = data.get("hashes")
        size = data.get("size")
        if not isinstance(size, int) or not isinstance(hashes, list) or len(hashes) != bin(size).count("1"):
            raise ValueError("a frontier needs one hash per one-bit of its size")
        return cls(size, [bytes.fromhex(str(h)) for h in hashes])


def inclusion_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index` in the tree over `leaves` (RFC 9162 2.1.3.1)."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(leaves[:k], index), root(leaves[k:])]
    return [*inclusion_proof(leaves[k:], index - k), root(leaves[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], expected: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected


def consistency_proof(leaves: list[bytes], old_size: int) -> list[bytes]:
    """The proof that the tree of `old_size` leaves is a prefix of the tree over `leaves` (RFC 9162 2.1.4.1)."""
    return Tree.of(leaves).consistency(old_size, len(leaves))


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 2.1.4.2."""
    if old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class Tree:
    """A publisher's tree, kept level by level so a root or a consistency proof costs O(log² n).

    `levels[h][i]` is the perfect subtree of 2^h leaves starting at leaf i * 2^h. Leaves are never
    rewritten (a feed only appends), so a process may keep its tree and append what is new.
    """

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]

    @classmethod
    def of(cls, leaves: list[bytes]) -> Tree:
        tree = cls()
        for leaf in leaves:
            tree.append(leaf)
        return tree

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        self.levels[0].append(leaf)
        h, i = 0, self.size - 1
        while i % 2 == 1:  # the subtree ending here is complete one level up
            if len(self.levels) == h + 1:
                self.levels.append([])
            self.levels[h + 1].append(node_hash(self.levels[h][i - 1], self.levels[h][i]))
            h, i = h + 1, i // 2

    def _range(self, start: int, n: int) -> bytes:
        """The tree head over leaves [start, start + n), n > 0."""
        if n & (n - 1) == 0 and start % n == 0:
            return self.levels[n.bit_length() - 1][start // n]
        k = _split(n)
        return node_hash(self._range(start, k), self._range(start + k, n - k))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return self._range(0, size) if size else EMPTY_ROOT

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        """The proof that the tree of `old_size` leaves is a prefix of the one of `new_size` (RFC 9162 2.1.4.1)."""
        def sub(m: int, start: int, n: int, complete: bool) -> list[bytes]:
            if m == n:
                return [] if complete else [self._range(start, n)]
            k = _split(n)
            if m <= k:
                return [*sub(m, start, k, complete), self._range(start + k, n - k)]
            return [*sub(m - k, start + k, n - k, False), self._range(start, k)]

        if not 0 < old_size <= new_size <= self.size:
            return []
        return sub(old_size, 0, new_size, True)
