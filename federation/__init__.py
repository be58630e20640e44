"""Federation with peer directories over signed feeds (docs/federation.md).

What exists so far: canonical JSON (canonical.py), Ed25519 keys and the root of trust (keys.py),
and the Merkle tree with proofs (merkle.py). Publishing and pulling feeds are not built yet.
"""
