"""Every vector in shared/conformance/merkle, parametrised; generation checked against them too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from civicforum.ledger import merkle

VECTORS = Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance" / "merkle"

if not (VECTORS / "inclusion.json").exists():  # pragma: no cover - only without the corpus
    pytest.skip(f"conformance vectors not found at {VECTORS}", allow_module_level=True)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text())
    return data


def h(text: str) -> bytes:
    return bytes.fromhex(text)


LEAVES = load("leaves")
ROOTS = load("roots")
INCLUSION = load("inclusion")["vectors"]
CONSISTENCY = load("consistency")["vectors"]
DERIVED = load("derived")


def test_empty_tree_hash() -> None:
    assert h(LEAVES["emptyTreeHash"]["value"]) == merkle.EMPTY_ROOT
    assert merkle.merkle_root([]) == merkle.EMPTY_ROOT


@pytest.mark.parametrize("vector", LEAVES["leafHashes"], ids=lambda v: v["input"][:16] or "empty")
def test_leaf_hash(vector: dict[str, Any]) -> None:
    assert merkle.leaf_hash(h(vector["input"])) == h(vector["leafHash"])


@pytest.mark.parametrize("vector", LEAVES["nodeHashes"], ids=lambda v: v["left"][:16])
def test_node_hash(vector: dict[str, Any]) -> None:
    assert merkle.node_hash(h(vector["left"]), h(vector["right"])) == h(vector["nodeHash"])


def reference_source(leaves: list[str]) -> merkle.MemoryHashSource:
    return merkle.MemoryHashSource(merkle.leaf_hash(h(x)) for x in leaves)


@pytest.mark.parametrize("vector", ROOTS["roots"], ids=lambda v: f"size{v['treeSize']}")
def test_roots(vector: dict[str, Any]) -> None:
    leaves = [merkle.leaf_hash(h(x)) for x in ROOTS["leaves"][: vector["treeSize"]]]
    assert merkle.merkle_root(leaves) == h(vector["root"])
    source = reference_source(ROOTS["leaves"])
    assert merkle.tree_root(source, vector["treeSize"]) == h(vector["root"])


@pytest.mark.parametrize("vector", ROOTS["subtrees"], ids=lambda v: f"{v['start']}-{v['end']}")
def test_complete_subtrees_are_what_the_source_stores(vector: dict[str, Any]) -> None:
    source = reference_source(ROOTS["leaves"])
    width = vector["end"] - vector["start"]
    level = width.bit_length() - 1
    assert source.subtree_hash(level, vector["start"] >> level) == h(vector["hash"])


@pytest.mark.parametrize("vector", INCLUSION, ids=lambda v: v["id"])
def test_inclusion_vectors(vector: dict[str, Any]) -> None:
    proof = [h(p) for p in vector["proof"]]
    args = (
        vector["leafIndex"],
        vector["treeSize"],
        h(vector["leafHash"]),
        proof,
        h(vector["root"]),
    )
    if vector["valid"]:
        merkle.verify_inclusion(*args)
    else:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*args)
    if vector["valid"] and "leafInput" in vector:
        assert merkle.leaf_hash(h(vector["leafInput"])) == h(vector["leafHash"])


@pytest.mark.parametrize("vector", CONSISTENCY, ids=lambda v: v["id"])
def test_consistency_vectors(vector: dict[str, Any]) -> None:
    proof = [h(p) for p in vector["proof"]]
    args = (vector["size1"], vector["size2"], h(vector["root1"]), h(vector["root2"]), proof)
    if vector["valid"]:
        merkle.verify_consistency(*args)
    else:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*args)


def test_valid_published_proofs_are_what_we_generate() -> None:
    """Our generator reproduces every valid published proof over the 8 reference leaves."""
    source = reference_source(ROOTS["leaves"])
    leaf_set = {merkle.leaf_hash(h(x)) for x in ROOTS["leaves"]}
    checked = 0
    for v in INCLUSION:
        if v["valid"] and h(v["leafHash"]) in leaf_set and v["treeSize"] <= 8:
            got = merkle.inclusion_proof(source, v["leafIndex"], v["treeSize"])
            assert got == [h(p) for p in v["proof"]], v["id"]
            checked += 1
    for v in CONSISTENCY:
        if v["valid"] and v["size2"] <= 8 and v["size1"] != v["size2"]:
            got = merkle.consistency_proof(source, v["size1"], v["size2"])
            assert got == [h(p) for p in v["proof"]], v["id"]
            checked += 1
    assert checked >= 8


DERIVED_SOURCE = reference_source(DERIVED["leaves"])


@pytest.mark.parametrize("vector", DERIVED["roots"], ids=lambda v: f"size{v['treeSize']}")
def test_derived_roots(vector: dict[str, Any]) -> None:
    assert merkle.tree_root(DERIVED_SOURCE, vector["treeSize"]) == h(vector["root"])


@pytest.mark.parametrize(
    "vector", DERIVED["inclusion"], ids=lambda v: f"{v['leafIndex']}of{v['treeSize']}"
)
def test_derived_inclusion(vector: dict[str, Any]) -> None:
    proof = merkle.inclusion_proof(DERIVED_SOURCE, vector["leafIndex"], vector["treeSize"])
    assert proof == [h(p) for p in vector["proof"]]
    merkle.verify_inclusion(
        vector["leafIndex"], vector["treeSize"], h(vector["leafHash"]), proof, h(vector["root"])
    )


@pytest.mark.parametrize(
    "vector", DERIVED["consistency"], ids=lambda v: f"{v['size1']}to{v['size2']}"
)
def test_derived_consistency(vector: dict[str, Any]) -> None:
    proof = merkle.consistency_proof(DERIVED_SOURCE, vector["size1"], vector["size2"])
    assert proof == [h(p) for p in vector["proof"]]
    merkle.verify_consistency(
        vector["size1"], vector["size2"], h(vector["root1"]), h(vector["root2"]), proof
    )
