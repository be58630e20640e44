"""Federation with peer directories over signed feeds (docs/federation.md).

What exists so far: canonical JSON (canonical.py), Ed25519 keys and the root of trust (keys.py,
identity.py, routes.py), the Merkle tree with proofs (merkle.py), the feed format and page
verification (feed.py) and record bodies (bodies.py). Publishing and pulling feeds are not built.
"""
