"""C2SP tlog-tiles: tile paths, tile contents from stored hashes, entry bundles.

Tiles have height 8: a full tile holds 256 hashes. Tile ``L/N`` hash ``i`` is
MTH(D[(N*256 + i) * 256**L : (N*256 + i + 1) * 256**L]), i.e. the stored complete subtree at tree
level ``8*L`` and index ``N*256 + i``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from civicforum.ledger.merkle import HashSource

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63
_ELEMENT = re.compile(r"[0-9]{3}")


class TileError(ValueError):
    """A tile path or entry bundle is malformed."""


@dataclass(frozen=True, slots=True)
class Tile:
    """``level`` is the tile level (``entries`` tiles use level -1), ``width`` 1..256."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def path(self) -> str:
        return tile_path(self.level, self.index, self.width)


ENTRIES_LEVEL = -1


def encode_index(n: int) -> str:
    """Tile index as 3-digit path elements, all but the last prefixed ``x`` (x001/x234/067)."""
    if n < 0:
        raise TileError("negative tile index")
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]``; level ``ENTRIES_LEVEL`` gives ``tile/entries/<N>[.p/<W>]``."""
    if not ENTRIES_LEVEL <= level <= MAX_LEVEL:
        raise TileError(f"tile level {level} out of range")
    if not 1 <= width <= TILE_WIDTH:
        raise TileError(f"tile width {width} out of range")
    head = "entries" if level == ENTRIES_LEVEL else str(level)
    tail = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{head}/{encode_index(index)}{tail}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]``."""
    return tile_path(ENTRIES_LEVEL, index, width)


def parse_tile_path(path: str) -> Tile:
    """Inverse of :func:`tile_path`; rejects every non-canonical spelling."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise TileError(f"not a tile path: {path!r}")
    head, rest = parts[1], parts[2:]
    if head == "entries":
        level = ENTRIES_LEVEL
    elif re.fullmatch(r"0|[1-9][0-9]?", head) and int(head) <= MAX_LEVEL:
        level = int(head)
    else:
        raise TileError(f"bad tile level in {path!r}")
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        w = rest[-1]
        if not re.fullmatch(r"[1-9][0-9]{0,2}", w) or int(w) >= TILE_WIDTH:
            raise TileError(f"bad partial width in {path!r}")
        width = int(w)
        rest = rest[:-2] + [rest[-2][:-2]]
    *prefixed, last = rest
    if not _ELEMENT.fullmatch(last) or not all(
        p.startswith("x") and _ELEMENT.fullmatch(p[1:]) for p in prefixed
    ):
        raise TileError(f"bad tile index in {path!r}")
    index = int("".join([p[1:] for p in prefixed] + [last]))
    if encode_index(index) != "/".join(rest):  # no leading x000 groups
        raise TileError(f"non-canonical tile index in {path!r}")
    return Tile(level, index, width)


def tiles_for_size(size: int) -> list[Tile]:
    """Every hash tile (full and the partial right edge) of a tree of ``size`` leaves."""
    tiles: list[Tile] = []
    level = 0
    while True:
        span = size >> (TILE_HEIGHT * level)  # hashes at this tile level
        full, partial = divmod(span, TILE_WIDTH)
        tiles.extend(Tile(level, n) for n in range(full))
        if partial:
            tiles.append(Tile(level, full, partial))
        if span < TILE_WIDTH:
            return tiles
        level += 1


def tile_content(source: HashSource, level: int, index: int, width: int = TILE_WIDTH) -> bytes:
    """The tile's bytes: ``width`` stored hashes at tree level ``8*level`` (width reads)."""
    if level < 0 or not 1 <= width <= TILE_WIDTH:
        raise TileError("not a hash tile")
    base = index * TILE_WIDTH
    return b"".join(source.subtree_hash(TILE_HEIGHT * level, base + i) for i in range(width))


def entry_bundle(entries: Iterable[bytes]) -> bytes:
    """Concatenate ``uint16 big-endian length || entry`` for each entry."""
    out = bytearray()
    for entry in entries:
        if len(entry) > 0xFFFF:
            raise TileError("entry longer than 65535 bytes")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    """Split an entry bundle; rejects truncation and more than 256 entries."""
    entries = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise TileError("truncated entry bundle")
        n = int.from_bytes(data[pos : pos + 2], "big")
        if pos + 2 + n > len(data):
            raise TileError("truncated entry bundle")
        entries.append(data[pos + 2 : pos + 2 + n])
        pos += 2 + n
    if len(entries) > TILE_WIDTH:
        raise TileError("more than 256 entries in a bundle")
    return entries
