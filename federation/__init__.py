"""Federation with peer directories over signed feeds (docs/federation.md; the attacks it refuses:
docs/threat-model.md).

Built and running: the format and its checks, canonical JSON (canonical.py), Ed25519 keys and the
root of trust (keys.py, identity.py), the Merkle tree with proofs (merkle.py), entries, checkpoints
and page verification (feed.py), record bodies (bodies.py) and reading a peer's bodies with the
import's checks (received.py); publishing our own logs and serving them (publish.py, routes.py);
pulling peers over HTTP with caps and deadlines (fetch.py), syncing and merging verified pages
(sync.py, merge.py), and the scheduled cycle of `directory serve` (service.py).
"""
