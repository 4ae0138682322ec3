"""The commitment to a ballot's electorate, published in its ``ballot.opened`` entry.

The electorate is fixed when a ballot opens (docs/ledger.md §1.3). Its commitment is the number
of electors and the RFC 9162 Merkle root over their *keyed* leaves, sorted:
``HMAC-SHA256(key, "<ballot>\\n<member>")``. The key stays on the server, so the published root
names nobody, while the operator can later prove to an elector (or to an auditor holding the
key) that they were counted in the electorate, and can never add or drop one without changing
the published root. The auditor checks that a ballot's participation never exceeds its size.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from civicforum.ledger.merkle import MemoryHashSource, inclusion_proof, leaf_hash, merkle_root


def elector_leaf(key: bytes, *, ballot: str, member: str) -> bytes:
    """One elector's keyed leaf: 32 bytes that identify them only to holders of ``key``."""
    return hmac.new(key, f"{ballot}\n{member}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Electorate:
    """The sorted, distinct keyed leaves of one ballot's electors."""

    leaves: tuple[bytes, ...]

    @classmethod
    def of(cls, leaves: Iterable[bytes]) -> Electorate:
        return cls(tuple(sorted(set(leaves))))

    @property
    def size(self) -> int:
        return len(self.leaves)

    def _source(self) -> MemoryHashSource:
        return MemoryHashSource([leaf_hash(leaf) for leaf in self.leaves])

    @property
    def root(self) -> bytes:
        """RFC 9162 root over the sorted leaves (the empty tree's root for no elector)."""
        return merkle_root(leaf_hash(leaf) for leaf in self.leaves)

    def proof(self, leaf: bytes) -> tuple[int, list[bytes]]:
        """(index, inclusion proof) of an elector's leaf; raises KeyError if not an elector."""
        try:
            index = self.leaves.index(leaf)
        except ValueError:
            raise KeyError("not an elector of this ballot") from None
        return index, inclusion_proof(self._source(), index, self.size)
