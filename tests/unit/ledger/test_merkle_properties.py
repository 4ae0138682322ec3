"""Hypothesis properties of proofs, plus the frontier and hash-source contracts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicforum.ledger import merkle

MAX = 300
SOURCE = merkle.MemoryHashSource(merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(MAX))
ROOTS = [merkle.tree_root(SOURCE, n) for n in range(MAX + 1)]


def flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def directions(index: int, size: int) -> list[bool]:
    """Which side each proof hash is hashed on (RFC 9162 §2.1.3.2), True = left."""
    fn, sn, out = index, size - 1, []
    while sn:
        left = bool(fn & 1) or fn == sn
        out.append(left)
        if left:
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        fn >>= 1
        sn >>= 1
    return out


def assert_rejected_or_same_shape(
    index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes, orig: tuple[int, int]
) -> None:
    """A wrong index or size must fail, except where the RFC algorithm cannot tell them apart.

    The proof only fixes the left/right pattern: (0, 5) and (0, 7) share it, so the checkpoint's
    signature, not the proof, is what binds the tree size. Anything else must be rejected.
    """
    if index < size and directions(index, size) == directions(*orig):
        merkle.verify_inclusion(index, size, leaf, proof, root)
        return
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(index, size, leaf, proof, root)


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX))
    return draw(st.integers(0, size - 1)), size


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(st.integers(2, MAX))
    return draw(st.integers(1, size2 - 1)), size2


@settings(max_examples=150, deadline=None)
@given(index_and_size(), st.integers(0, 10_000))
def test_inclusion_verifies_and_every_bit_flip_fails(case: tuple[int, int], bit: int) -> None:
    index, size = case
    leaf = SOURCE.subtree_hash(0, index)
    proof = merkle.inclusion_proof(SOURCE, index, size)
    root = ROOTS[size]
    merkle.verify_inclusion(index, size, leaf, proof, root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(index, size, flip(leaf, bit), proof, root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(index, size, leaf, proof, flip(root, bit))
    if proof:
        k = bit % len(proof)
        bad = [*proof[:k], flip(proof[k], bit), *proof[k + 1 :]]
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, size, leaf, bad, root)
    flipped = 1 << (bit % 10)
    assert_rejected_or_same_shape(index, size ^ flipped, leaf, proof, root, (index, size))
    assert_rejected_or_same_shape(index ^ flipped, size, leaf, proof, root, (index, size))


@settings(max_examples=150, deadline=None)
@given(two_sizes(), st.integers(0, 10_000))
def test_consistency_verifies_and_every_bit_flip_fails(case: tuple[int, int], bit: int) -> None:
    size1, size2 = case
    proof = merkle.consistency_proof(SOURCE, size1, size2)
    root1, root2 = ROOTS[size1], ROOTS[size2]
    merkle.verify_consistency(size1, size2, root1, root2, proof)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(size1, size2, flip(root1, bit), root2, proof)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(size1, size2, root1, flip(root2, bit), proof)
    k = bit % len(proof)
    bad = [*proof[:k], flip(proof[k], bit), *proof[k + 1 :]]
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(size1, size2, root1, root2, bad)
    for other1, other2 in ((size1 + 1, size2), (size1, size2 + 1), (size1 - 1, size2)):
        if 0 < other1 < other2 <= MAX and (other1, other2) != (size1, size2):
            with pytest.raises(merkle.ProofError):
                merkle.verify_consistency(other1, other2, ROOTS[other1], ROOTS[other2], proof)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(size1, size2, root1, root2, [*proof, proof[0]])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(size1, size2, root1, root2, proof[:-1])


def test_compact_range_yields_every_stored_node_and_root() -> None:
    cr = merkle.CompactRange()
    stored: dict[tuple[int, int], bytes] = {}
    for i in range(37):
        nodes = cr.append(SOURCE.subtree_hash(0, i))
        assert nodes[0] == merkle.Node(0, i, SOURCE.subtree_hash(0, i))
        for node in nodes:
            stored[(node.level, node.index)] = node.hash
            assert node.hash == SOURCE.subtree_hash(node.level, node.index)
        assert cr.root() == ROOTS[i + 1]
    source = merkle.FunctionHashSource(lambda level, index: stored[(level, index)])
    rebuilt = merkle.CompactRange.from_source(source, 37)
    assert rebuilt.hashes == cr.hashes and rebuilt.root() == ROOTS[37]
    fast = rebuilt.copy()
    fast.append_fast(SOURCE.subtree_hash(0, 37))
    cr.append(SOURCE.subtree_hash(0, 37))
    assert fast.root() == cr.root() == ROOTS[38]
    assert list(merkle.iter_roots(SOURCE.subtree_hash(0, i) for i in range(5))) == ROOTS[1:6]
    assert merkle.merkle_root(SOURCE.subtree_hash(0, i) for i in range(MAX)) == SOURCE.root()


def test_contract_errors() -> None:
    with pytest.raises(ValueError):
        merkle.CompactRange(3, [b"x"])
    with pytest.raises(ValueError):
        merkle.range_hash(SOURCE, 4, 4)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(SOURCE, 5, 5)
    with pytest.raises(ValueError):
        merkle.consistency_proof(SOURCE, 0, 5)
    with pytest.raises(ValueError):
        merkle.consistency_proof(SOURCE, 6, 5)
    assert merkle.consistency_proof(SOURCE, 5, 5) == []
    assert merkle.tree_root(SOURCE, 0) == merkle.EMPTY_ROOT
    source = merkle.MemoryHashSource()
    assert source.size == 0 and SOURCE.size == MAX
    with pytest.raises(ValueError):
        source.store(merkle.Node(2, 1, bytes(32)))
    with pytest.raises(merkle.ProofError, match="not 32 bytes"):
        merkle.verify_inclusion(0, 2, bytes(32), [b"short"], bytes(32))
    with pytest.raises(merkle.ProofError, match="not 32 bytes"):
        merkle.verify_consistency(1, 2, bytes(32), bytes(32), [b"short"])


def test_proofs_read_only_log_n_stored_hashes() -> None:
    """The storage layer gets O(log n) reads per proof, whatever the size."""
    reads = 0

    def get(level: int, index: int) -> bytes:
        nonlocal reads
        reads += 1
        return SOURCE.subtree_hash(level, index)

    counting = merkle.FunctionHashSource(get)
    for size in (1, 2, 3, 100, 255, 256, 257, MAX):
        for index in {0, size // 2, size - 1}:
            reads = 0
            merkle.inclusion_proof(counting, index, size)
            assert reads <= 2 * size.bit_length()
        for size1 in {1, size // 3 or 1, size - 1 or 1}:
            if size1 < size:
                reads = 0
                merkle.consistency_proof(counting, size1, size)
                assert reads <= 2 * size.bit_length() + 1
