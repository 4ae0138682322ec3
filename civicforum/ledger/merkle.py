"""RFC 9162 (RFC 6962) Merkle tree hashing, proofs and verification.

Pure: hashlib only. Proofs are generated from a :class:`HashSource`, which serves the hash of a
*complete, aligned* subtree (``level``, ``index``) covering leaves
``[index << level, (index + 1) << level)``. The storage layer keeps exactly those nodes (the ones
:meth:`CompactRange.append` yields), so any proof costs O(log n) reads whatever the tree size.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 with the strict edge policy of
transparency-dev/merkle (see ``docs/ledger.md``): it accepts exactly what the conformance vectors
in ``shared/conformance/merkle`` call valid.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


class ProofError(ValueError):
    """A proof, hash or size did not verify."""


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH_CHILDREN = SHA-256(0x01 || left || right); plain concatenation, no length checks."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------- hash sources


class HashSource(Protocol):
    """Serves stored hashes of complete aligned subtrees.

    ``subtree_hash(level, index)`` is MTH(D[index * 2**level : (index + 1) * 2**level]); level 0
    is the leaf hashes. Callers only ask for subtrees that are complete in the tree being proven.
    """

    def subtree_hash(self, level: int, index: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class FunctionHashSource:
    """Adapts a plain callable ``(level, index) -> hash`` (e.g. a database lookup)."""

    get: Callable[[int, int], bytes]

    def subtree_hash(self, level: int, index: int) -> bytes:
        return self.get(level, index)


class MemoryHashSource:
    """Every complete subtree hash of a tree held in memory, one list per level.

    Build it from leaf hashes, or feed it :class:`Node` values as the storage layer would.
    Used by tests, the benchmark and small tools; not meant for unbounded logs.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        self._range = CompactRange()
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        return self._range.size

    def append(self, leaf: bytes) -> list[Node]:
        """Append a leaf hash and store the new complete subtrees it closes."""
        nodes = self._range.append(leaf)
        for node in nodes:
            self.store(node)
        return nodes

    def store(self, node: Node) -> None:
        while len(self.levels) <= node.level:
            self.levels.append([])
        row = self.levels[node.level]
        if node.index != len(row):
            raise ValueError(f"node {node.level}/{node.index} stored out of order")
        row.append(node.hash)

    def subtree_hash(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self) -> bytes:
        return self._range.root()


def range_hash(source: HashSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range whose ``start`` is aligned to a power of two >= its size.

    Every range that appears in RFC 9162 proofs has this shape: it splits into complete aligned
    subtrees of decreasing size, which are read from ``source`` and folded right to left.
    """
    size = end - start
    if size <= 0:
        raise ValueError("empty range")
    hashes: list[bytes] = []
    pos = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            hashes.append(source.subtree_hash(level, pos >> level))
            pos += 1 << level
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def tree_root(source: HashSource, size: int) -> bytes:
    """Root hash of the first ``size`` leaves, from stored subtrees (O(log n) reads)."""
    return EMPTY_ROOT if size == 0 else range_hash(source, 0, size)


def merkle_root(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH over already-hashed leaves, in O(log n) memory."""
    cr = CompactRange()
    for h in leaf_hashes:
        cr.append(h)
    return cr.root()


# --------------------------------------------------------------------------- proof generation


def inclusion_proof(source: HashSource, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf level first."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} outside a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(range_hash(source, start + k, end))
            end = start + k
        else:
            path.append(range_hash(source, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(source: HashSource, size1: int, size2: int) -> list[bytes]:
    """PROOF(size1, D[size2]) = SUBPROOF(size1, D[size2], true) (RFC 9162 §2.1.4.1)."""
    if not 0 < size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to {size2}")
    path: list[bytes] = []
    start, end, whole = 0, size2, True
    while end != size1:
        k = _split(end - start)
        if size1 - start <= k:
            path.append(range_hash(source, start + k, end))
            end = start + k
        else:
            path.append(range_hash(source, start, start + k))
            start += k
            whole = False
    if not whole:
        path.append(range_hash(source, start, end))
    path.reverse()
    return path


# --------------------------------------------------------------------------- verification


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Recompute the root an inclusion proof implies (RFC 9162 §2.1.3.2); raise ProofError."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} outside a tree of size {size}")
    # A short leaf hash could otherwise pass as an (also short) root with an empty proof.
    if len(leaf) != HASH_SIZE:
        raise ProofError("leaf hash is not 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != HASH_SIZE:
            raise ProofError("proof element is not 32 bytes")
        if sn == 0:
            raise ProofError("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is entry ``index`` of the tree of ``size`` with ``root``."""
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (size2, root2) extends (size1, root1) (RFC 9162 §2.1.4.2)."""
    if size2 < size1:
        raise ProofError("second tree is smaller than the first")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if size1 == size2:
        if proof:
            raise ProofError("proof between equal sizes must be empty")
        if root1 != root2:
            raise ProofError("different roots at the same size")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    for p in proof:
        if len(p) != HASH_SIZE:
            raise ProofError("proof element is not 32 bytes")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof too long")
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
    if sn != 0:
        raise ProofError("consistency proof too short")
    if fr != root1:
        raise ProofError("consistency proof does not lead to the first root")
    if sr != root2:
        raise ProofError("consistency proof does not lead to the second root")


# --------------------------------------------------------------------------- compact range


@dataclass(frozen=True, slots=True)
class Node:
    """A complete aligned subtree: leaves ``[index << level, (index + 1) << level)``."""

    level: int
    index: int
    hash: bytes


class CompactRange:
    """The right frontier of a growing tree: O(log n) memory, amortised O(1) hashing per append.

    ``hashes[i]`` is the complete subtree for the i-th set bit of ``size``, largest first. A
    sequencer keeps one per log (or rebuilds it from stored nodes with :meth:`from_source`).
    """

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError("a compact range has one hash per set bit of its size")
        self.size = size
        self.hashes = list(hashes)

    @classmethod
    def from_source(cls, source: HashSource, size: int) -> CompactRange:
        """Rebuild the frontier of the first ``size`` leaves from stored subtrees."""
        hashes = []
        pos = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                hashes.append(source.subtree_hash(level, pos >> level))
                pos += 1 << level
        return cls(size, hashes)

    def append(self, leaf: bytes) -> list[Node]:
        """Add one leaf hash; return the new complete subtrees (the leaf first) to store."""
        index = self.size
        nodes = [Node(0, index, leaf)]
        h = leaf
        level = 0
        hashes = self.hashes
        while index >> level & 1:
            h = node_hash(hashes.pop(), h)
            level += 1
            nodes.append(Node(level, index >> level, h))
        hashes.append(h)
        self.size = index + 1
        return nodes

    def append_fast(self, leaf: bytes) -> None:
        """:meth:`append` without building Node values: the auditor's hot loop."""
        index = self.size
        h = leaf
        hashes = self.hashes
        while index & 1:
            h = _sha256(b"\x01" + hashes.pop() + h).digest()
            index >>= 1
        hashes.append(h)
        self.size += 1

    def root(self) -> bytes:
        """MTH of everything appended so far (SHA-256("") when empty)."""
        if not self.hashes:
            return EMPTY_ROOT
        acc = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            acc = node_hash(h, acc)
        return acc

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self.hashes)


def iter_roots(leaf_hashes: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the root after each appended leaf (sizes 1, 2, ...)."""
    cr = CompactRange()
    for h in leaf_hashes:
        cr.append_fast(h)
        yield cr.root()
