"""The Java standard-library behaviour RCTab's tie-breaks depend on, reproduced exactly.

RCTab draws every random tie-break from one ``java.util.Random(randomSeed)``, shuffles the
``generatePermutation`` order with ``Collections.shuffle``, sorts names with ``String.compareTo``
(UTF-16 code units, not code points) and, in ``previousRoundCountsThenRandom``, hands the lot
the tied candidates in ``java.util.HashSet`` iteration order. An auditor who wants RCTab's draws
needs all four bit for bit; they are specified by the Java SE documentation (``Random`` is a
48-bit linear congruential generator whose constants the API fixes) and were checked against
the draws recorded in RCTab's own regression reports.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableSequence, Sequence

_MULTIPLIER = 0x5DEECE66D
_ADDEND = 0xB
_MASK = (1 << 48) - 1


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


class JavaRandom:
    """``java.util.Random``: the same sequence as Java for the same 64-bit seed."""

    def __init__(self, seed: int) -> None:
        self._seed = (seed ^ _MULTIPLIER) & _MASK

    def next(self, bits: int) -> int:
        """``Random.next(bits)``: the top ``bits`` of the next 48-bit state, as a Java int."""
        self._seed = (self._seed * _MULTIPLIER + _ADDEND) & _MASK
        return _int32(self._seed >> (48 - bits))

    def next_int(self, bound: int | None = None) -> int:
        """``nextInt()`` or ``nextInt(bound)`` (the rejection loop keeps it uniform)."""
        if bound is None:
            return self.next(32)
        if bound <= 0:
            raise ValueError("bound must be positive")
        if bound & -bound == bound:  # a power of two: the high bits are the better ones
            return (bound * self.next(31)) >> 31
        while True:
            bits = self.next(31)
            value = bits % bound
            if _int32(bits - value + (bound - 1)) >= 0:  # Java's int overflow test
                return value

    def next_double(self) -> float:
        """``nextDouble()``: 53 random bits scaled into [0, 1)."""
        return ((self.next(26) << 27) + self.next(27)) * (1.0 / (1 << 53))


def shuffle[T](items: MutableSequence[T], rnd: JavaRandom) -> None:
    """``Collections.shuffle(list, rnd)`` for a random-access list, in place."""
    for i in range(len(items), 1, -1):
        j = rnd.next_int(i)
        items[i - 1], items[j] = items[j], items[i - 1]


def java_key(text: str) -> bytes:
    """Sort key giving ``String.compareTo`` order: UTF-16 code units, compared unsigned."""
    return text.encode("utf-16-be", "surrogatepass")


def java_sorted(names: Iterable[str]) -> list[str]:
    """``Collections.sort`` of strings."""
    return sorted(names, key=java_key)


def string_hash(text: str) -> int:
    """``String.hashCode()``: s[0]*31^(n-1) + ... over UTF-16 code units, as a Java int."""
    h = 0
    units = java_key(text)
    for i in range(0, len(units), 2):
        h = (31 * h + (units[i] << 8 | units[i + 1])) & 0xFFFFFFFF
    return _int32(h)


def hashset_order(names: Sequence[str]) -> list[str]:
    """Iteration order of ``new HashSet<>(names)`` (distinct strings, added in list order).

    The copy constructor sizes the table to the next power of two at or above
    ``max(len / 0.75 + 1, 16)``; each string goes to bucket ``(h ^ h >>> 16) & (size - 1)``
    and a bucket keeps its insertion order. (Buckets only turn into trees from 8 entries in a
    table of 64 or more, far beyond any tie.)
    """
    wanted = max(int(len(names) / 0.75) + 1, 16)
    size = 1
    while size < wanted:
        size <<= 1
    buckets: dict[int, list[str]] = {}
    for name in names:
        h = string_hash(name) & 0xFFFFFFFF
        buckets.setdefault((h ^ (h >> 16)) & (size - 1), []).append(name)
    return [name for index in sorted(buckets) for name in buckets[index]]
