"""tlog-tiles paths (the spec's examples), tile contents and entry bundles."""

from __future__ import annotations

import pytest

from civicforum.ledger import merkle, tiles


@pytest.mark.parametrize(
    ("level", "index", "width", "path"),
    [
        (0, 1234067, 256, "tile/0/x001/x234/067"),  # the spec's example index
        (0, 0, 256, "tile/0/000"),
        (1, 999, 256, "tile/1/999"),
        (2, 1000, 256, "tile/2/x001/000"),
        (0, 273, 112, "tile/0/273.p/112"),
        (1, 1, 17, "tile/1/001.p/17"),
        (63, 5, 1, "tile/63/005.p/1"),
        (tiles.ENTRIES_LEVEL, 1234067, 256, "tile/entries/x001/x234/067"),
        (tiles.ENTRIES_LEVEL, 0, 3, "tile/entries/000.p/3"),
    ],
)
def test_tile_paths(level: int, index: int, width: int, path: str) -> None:
    assert tiles.tile_path(level, index, width) == path
    assert tiles.parse_tile_path(path) == tiles.Tile(level, index, width)
    assert tiles.Tile(level, index, width).path == path
    if level == tiles.ENTRIES_LEVEL:
        assert tiles.entries_path(index, width) == path


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",
        "tile/0/0001",
        "tile/0/x000/001",
        "tile/0/001/x234",
        "tile/0/x1/234",
        "tile/00/001",
        "tile/64/001",
        "tile/0/001.p/0",
        "tile/0/001.p/256",
        "tile/0/001.p/07",
        "tiles/0/001",
        "tile/0",
        "tile/entries/abc",
    ],
)
def test_bad_tile_paths(path: str) -> None:
    with pytest.raises(tiles.TileError):
        tiles.parse_tile_path(path)


def test_tile_path_argument_checks() -> None:
    for args in ((64, 0, 256), (-2, 0, 256), (0, 0, 0), (0, 0, 257), (0, -1, 256)):
        with pytest.raises(tiles.TileError):
            tiles.tile_path(*args)


def test_tiles_for_size_matches_the_spec_example() -> None:
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level 0
    # tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
    # partial level 2 tile of width 1"
    got = tiles.tiles_for_size(70_000)
    level0 = [t for t in got if t.level == 0]
    assert len([t for t in level0 if t.width == 256]) == 273
    assert tiles.Tile(0, 273, 112) in got
    assert [t for t in got if t.level == 1] == [tiles.Tile(1, 0), tiles.Tile(1, 1, 17)]
    assert [t for t in got if t.level == 2] == [tiles.Tile(2, 0, 1)]
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile"
    assert tiles.tiles_for_size(256) == [tiles.Tile(0, 0), tiles.Tile(1, 0, 1)]
    assert tiles.tiles_for_size(0) == []


def test_tile_content_hashes_to_the_level_above() -> None:
    n = 256 * 3 + 5
    source = merkle.MemoryHashSource(merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n))
    full = tiles.tile_content(source, 0, 1)
    assert len(full) == 8192
    assert full[:32] == source.subtree_hash(0, 256)
    hashes = [full[i : i + 32] for i in range(0, 8192, 32)]
    assert merkle.merkle_root(hashes[:0]) == merkle.EMPTY_ROOT
    # A full level-0 tile's hashes fold to the level-1 tile entry for it.
    assert merkle.range_hash(merkle.MemoryHashSource(hashes), 0, 256) == source.subtree_hash(8, 1)
    assert tiles.tile_content(source, 1, 0, 3) == b"".join(
        source.subtree_hash(8, i) for i in range(3)
    )
    assert len(tiles.tile_content(source, 0, 3, 5)) == 5 * 32
    with pytest.raises(tiles.TileError):
        tiles.tile_content(source, -1, 0)


def test_entry_bundles() -> None:
    entries = [b"", b"a", b"x" * 300, bytes(range(256))]
    bundle = tiles.entry_bundle(entries)
    assert bundle[:2] == b"\x00\x00" and bundle[2:5] == b"\x00\x01a"
    assert tiles.parse_entry_bundle(bundle) == entries
    with pytest.raises(tiles.TileError):
        tiles.entry_bundle([b"x" * 65536])
    for bad in (b"\x00", b"\x00\x05abc"):
        with pytest.raises(tiles.TileError):
            tiles.parse_entry_bundle(bad)
    with pytest.raises(tiles.TileError):
        tiles.parse_entry_bundle(tiles.entry_bundle([b"e"] * 257))
