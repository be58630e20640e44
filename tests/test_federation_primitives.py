"""The federation's building blocks: canonical bytes, keys and roots of trust, the Merkle tree.

Each attack of docs/threat-model.md that these pieces alone must refuse is a test here; the
sections name the attacks' ids.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from federation import merkle
from federation.canonical import NotCanonical, canonical, parse
from federation.keys import Root, SigningKey, Untrusted, b64, first_root, next_root, seal, signers, verify

pytestmark = pytest.mark.pure


# -- canonical JSON (F15) ------------------------------------------------------------------


def test_canonical_bytes_follow_rfc_8785_not_sort_keys() -> None:
    # JCS orders keys by UTF-16 code units: U+1F600 (surrogates D83D...) sorts before U+FB01.
    doc = {"\ufb01": 1, "\U0001f600": 2, "a": [True, None, "é"]}
    assert canonical(doc) == '{"a":[true,null,"é"],"\U0001f600":2,"\ufb01":1}'.encode()
    assert parse(canonical(doc)) == doc


@pytest.mark.parametrize("data,reason", [
    (b'{"a":1,"a":2}', "appears twice"),
    (b'{"a":1.5}', "not an integer"),
    (b'{"a":1.0}', "not an integer"),
    (b'{"a":9007199254740993}', "beyond 2^53"),
    (b'{"a":"\xff"}', "not UTF-8"),
    (b'{"b":1,"a":2}', "canonical"),
    (b'{"a": 1}', "canonical"),
    (b'{"a":NaN}', "not JSON"),
    (b'{"a":', "not JSON"),
    (b'[' * 20 + b']' * 20, "nested deeper"),
])
def test_strict_parsing_refuses_what_could_be_read_two_ways(data: bytes, reason: str) -> None:
    with pytest.raises(NotCanonical) as caught:
        parse(data, "entry 7")
    assert reason in str(caught.value) and "entry 7" in str(caught.value)


def test_a_page_of_empty_arrays_under_the_cap_is_refused_before_it_is_built() -> None:
    """Was a hole (a hostile peer's read): 16 MiB of `[[[[]]]]` under a page's `proof` was parsed
    whole before its shape was refused: 930 MB and the interpreter held for 5 s."""
    unit = b"[" * 14 + b"]" * 14 + b","
    bomb = b'{"checkpoint":null,"entries":[],"proof":[' + (unit * (16 * 2**20 // len(unit)))[:-1] + b"]}"
    with pytest.raises(NotCanonical, match=r"arrays and objects in 16777\d+ bytes: more than a document of records"):
        parse(bomb, "peer.example's page")
    # a page of records as bodies give them: a service in 60 places, a thousand times
    from directory.domain.model import Coverage, Presence, Service
    from federation.bodies import service_body
    places = [Coverage(f"K{i}", Presence.REMOTE) for i in range(60)]
    service = Service(id="peer.example:s", organisation="peer.example:o", name="Grant", type="emergency-grant",
                      coverage=places, languages=["en", "fr", "es"], groups=["women", "journalists"])
    body = service_body(service, "public")
    page = canonical({"entries": [{"body": body, "seq": n} for n in range(1000)], "proof": []})
    assert len(parse(page)["entries"]) == 1000
    # brackets a record's text holds are no arrays: a member's description of 5,000 `[` made the one
    # page holding it unreadable to every peer (a crash read), a page of one entry as much as of many
    text = canonical({"entries": [{"body": {**body, "description": "[{" * 2500}, "seq": 7}], "proof": []})
    assert parse(text)["entries"][0]["body"]["description"] == "[{" * 2500
    escaped = canonical({"entries": [{"body": {**body, "description": '\\"[' * 3000}, "seq": 7}], "proof": []})
    assert parse(escaped)["entries"][0]["body"]["description"] == '\\"[' * 3000
    # an unended string takes the rest of the text, in one scan: when each of its escaped quotes began
    # another scan to the end, 128 KB of them held a core for 67 s before any signature was checked
    # (an injection read); the parser then says where the text stops being JSON
    from federation.canonical import _containers
    unended = b'"' + b'\\"[[' * 1000
    assert _containers(unended) == 0 and _containers(b'["a[", {"b": "\\"{"}]') == 2
    with pytest.raises(NotCanonical, match="not JSON: Unterminated string"):
        parse(b'{"entries":' + b'"' + b'\\"[[' * 5_000)


def test_floats_cannot_be_signed() -> None:
    with pytest.raises(NotCanonical):
        canonical({"latitude": 6.25})


# -- keys and roots (F7, F8, F9, F10, F20, F23) --------------------------------------------

def _root(version: int, root_keys: list[SigningKey], threshold: int, online: list[SigningKey],
          directory: str = "peer.example") -> Root:
    return Root(directory, version, "2030-01-01T00:00:00Z", {k.id: k.public for k in root_keys}, threshold,
                {k.id: k.public for k in online}, 1)


def test_signatures_verify_only_for_the_exact_bytes() -> None:
    key = SigningKey.generate()
    sig = key.sign(b"hello")
    assert verify(key.public, b"hello", sig)
    assert not verify(key.public, b"hellp", sig)
    assert not verify(SigningKey.generate().public, b"hello", sig)


def test_small_order_keys_are_refused_even_with_a_matching_forgery() -> None:
    identity = bytes([1] + [0] * 31)  # the identity point: R = identity, S = 0 "verifies" any message in OpenSSL
    forged = bytes([1] + [0] * 31) + bytes(32)
    assert not verify(identity, b"any message", forged)
    envelope = {"signed": _root(1, [SigningKey.generate()], 1, [SigningKey.generate()]).signed(), "signatures": []}
    envelope["signed"]["root_keys"] = {hashlib.sha256(identity).hexdigest()[:32]: b64(identity)}
    with pytest.raises(Untrusted, match="not a valid Ed25519 public key"):
        first_root(envelope, "sha256:whatever")


def test_the_first_root_is_pinned_by_its_fingerprint_and_signed_by_its_threshold() -> None:
    a, b, c, online = (SigningKey.generate() for _ in range(4))
    root = _root(1, [a, b, c], 2, [online])
    assert first_root(seal(root.signed(), [a, b]), root.fingerprint) == root
    with pytest.raises(Untrusted, match="1 of the 2"):
        first_root(seal(root.signed(), [a]), root.fingerprint)
    with pytest.raises(Untrusted, match="1 of the 2"):  # one key counted twice is still one key
        first_root(seal(root.signed(), [a, a]), root.fingerprint)
    other = _root(1, [SigningKey.generate()], 1, [online])
    with pytest.raises(Untrusted, match="fingerprint"):
        first_root(seal(root.signed(), [a, b]), other.fingerprint)


def test_a_rotation_needs_both_thresholds_and_the_next_version() -> None:
    a, b, c, d, online, online2 = (SigningKey.generate() for _ in range(6))
    old = _root(1, [a, b], 2, [online])
    new = _root(2, [c, d], 2, [online2])
    assert next_root(old, seal(new.signed(), [a, b, c, d])) == new
    with pytest.raises(Untrusted, match="by the old root keys"):  # new keys only
        next_root(old, seal(new.signed(), [c, d]))
    with pytest.raises(Untrusted, match="by its own root keys"):
        next_root(old, seal(new.signed(), [a, b, c]))
    skipped = _root(3, [c, d], 2, [online2])
    with pytest.raises(Untrusted, match="does not follow"):
        next_root(old, seal(skipped.signed(), [a, b, c, d]))
    elsewhere = _root(2, [c, d], 2, [online2], directory="other.example")
    with pytest.raises(Untrusted, match="another directory"):
        next_root(old, seal(elsewhere.signed(), [a, b, c, d]))


def test_an_online_key_left_out_of_the_new_root_no_longer_signs() -> None:
    a, online, online2 = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    new = _root(2, [a], 1, [online2])
    checkpoint = seal({"type": "pd-checkpoint", "size": 1}, [online])
    assert signers(checkpoint, new.online_keys) == set()  # signed by the revoked key: counts for nothing


def test_a_root_expires_on_a_frozen_clock() -> None:
    root = _root(1, [SigningKey.generate()], 1, [SigningKey.generate()])
    assert not root.expired(datetime(2029, 12, 31, tzinfo=UTC))
    assert root.expired(datetime(2030, 1, 1, tzinfo=UTC))


# -- the Merkle tree (F1, F2, F11) ---------------------------------------------------------

LEAVES = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(70)]


def test_the_frontier_reaches_the_same_root_as_the_whole_tree() -> None:
    frontier = merkle.Frontier()
    assert frontier.root() == merkle.root([]) == hashlib.sha256(b"").digest()
    for n, leaf in enumerate(LEAVES, start=1):
        frontier.append(leaf)
        assert frontier.root() == merkle.root(LEAVES[:n])
        assert merkle.Frontier.from_json(frontier.to_json()).root() == frontier.root()


def test_reordered_duplicated_missing_or_altered_entries_miss_the_root() -> None:
    expected = merkle.root(LEAVES[:10])
    altered = [*LEAVES[:3], merkle.leaf_hash(b"entry 3!"), *LEAVES[4:10]]
    for wrong in ([LEAVES[1], LEAVES[0], *LEAVES[2:10]], [*LEAVES[:5], *LEAVES[4:10]], LEAVES[:9], altered):
        assert merkle.root(wrong) != expected


def test_inclusion_proofs_hold_for_every_leaf_and_fail_when_tampered() -> None:
    for size in (1, 2, 3, 7, 8, 33):
        head = merkle.root(LEAVES[:size])
        for i in range(size):
            proof = merkle.inclusion_proof(LEAVES[:size], i)
            assert merkle.verify_inclusion(LEAVES[i], i, size, proof, head)
            assert not merkle.verify_inclusion(LEAVES[(i + 1) % 70], i, size, proof, head)


def test_consistency_proofs_hold_for_prefixes_and_catch_a_rewritten_history() -> None:
    for new in range(1, 40):
        for old in range(1, new + 1):
            proof = merkle.consistency_proof(LEAVES[:new], old)
            assert merkle.verify_consistency(old, new, merkle.root(LEAVES[:old]), merkle.root(LEAVES[:new]), proof)
    forked = [*LEAVES[:4], merkle.leaf_hash(b"another history"), *LEAVES[5:20]]
    proof = merkle.consistency_proof(forked, 8)
    assert not merkle.verify_consistency(8, 20, merkle.root(LEAVES[:8]), merkle.root(forked), proof)


def test_the_publishers_kept_tree_gives_the_same_roots_and_proofs_as_the_whole_tree() -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(130)]
    tree = merkle.Tree()
    for leaf in leaves:
        tree.append(leaf)
    for new in range(0, 131, 3):
        assert tree.root(new) == merkle.root(leaves[:new])
        for old in range(1, new + 1, 4):
            proof = tree.consistency(old, new)
            assert proof == merkle.consistency_proof(leaves[:new], old)
            assert merkle.verify_consistency(old, new, merkle.root(leaves[:old]), tree.root(new), proof)


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_JSON = st.recursive(st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | _TEXT,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                     max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_the_fast_canonical_bytes_are_exactly_rfc_8785(document: object) -> None:
    assert canonical(document) == bytes(rfc8785.dumps(document))


def test_keys_outside_the_basic_plane_sort_by_utf16_as_rfc_8785_says() -> None:
    document = {"\U0001f600": 1, "\ufb01": 2}  # code points and UTF-16 units order these two differently
    assert canonical(document) == bytes(rfc8785.dumps(document))
    assert canonical(document).index("\U0001f600".encode()) < canonical(document).index("\ufb01".encode())
