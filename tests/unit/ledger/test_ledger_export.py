"""The export writer and reader (format-level errors; verification is in audit_tool tests)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from civicforum.ledger import export as X
from civicforum.ledger import merkle


def test_lines_and_round_trip(tmp_path: Path) -> None:
    entries = [b'{"a":"\xc3\xa9,\\"index\\":"}', b"{}"]
    buffer = io.StringIO()
    assert X.write_entries(buffer, entries, start=5) == 2
    line = buffer.getvalue().splitlines()[0]
    digest = merkle.leaf_hash(entries[0]).hex()
    assert line == '{"entry":{"a":"\u00e9,\\"index\\":"},"index":5,"leaf_hash":"' + digest + '"}'
    assert json.loads(line)["entry"] == {"a": '\u00e9,"index":'}  # a JSON line, entry verbatim
    parsed = X.parse_entry_line(line.encode())
    assert parsed == X.ExportedEntry(5, entries[0], bytes.fromhex(digest))
    with X.ExportWriter(tmp_path) as writer:
        size = writer.write_log(
            "votes",
            origin="o.example/votes",
            verifier_key="key\n",
            entries=iter(entries),
            checkpoints=[
                "o.example/votes\n1\nAAAA\n\n\u2014 sig\n",
                "o.example/votes\n2\nBBBB\n\n",
            ],
            cosignatures=[(2, "w+1+A", "\u2014 w abc\n")],
        )
        writer.write_result("b-1", b"{}")
    assert size == 2
    with X.open_export(tmp_path) as reader:
        assert reader.logs == ["votes"] and reader.origin("votes") == "o.example/votes"
        assert reader.size("votes") == 2 and reader.verifier_key("votes") == "key"
        assert [e.entry for e in reader.iter_entries("votes")] == entries
        assert [c.size for c in reader.iter_checkpoints("votes")] == [1, 2]
        assert list(reader.iter_cosignatures("votes")) == [
            X.ExportedCosignature(2, "w+1+A", "\u2014 w abc")
        ]
        assert list(reader.iter_entries("civic")) == []
        assert reader.result("b-1") == b"{}" and reader.result("b2") is None
    nested = tmp_path.parent / (tmp_path.name + "-zip")
    nested.mkdir()
    X.zip_export(tmp_path, nested / "e.zip")
    with X.open_export(nested / "e.zip") as reader:
        assert [e.index for e in reader.iter_entries("votes")] == [0, 1]
        assert reader.result("b-1") == b"{}"


def test_writer_errors(tmp_path: Path) -> None:
    writer = X.ExportWriter(tmp_path)
    with pytest.raises(X.ExportError):
        writer.write_log("other", origin="o", verifier_key="k", entries=[], checkpoints=[])
    for bad in (b"\xff", b"{ }", b"nope"):
        with pytest.raises(X.ExportError):
            writer.write_log("votes", origin="o", verifier_key="k", entries=[bad], checkpoints=[])
    with pytest.raises(X.ExportError):
        writer.write_log(
            "votes",
            origin="o",
            verifier_key="k",
            entries=[],
            checkpoints=["o\n2\nA\n\n", "o\n1\nA\n\n"],
        )
    with pytest.raises(X.ExportError):
        writer.write_log("votes", origin="o", verifier_key="k", entries=[], checkpoints=["o\n"])
    for bad in ("../x", "a.b", ""):
        with pytest.raises(X.ExportError):
            writer.write_result(bad, b"{}")


def test_reader_errors(tmp_path: Path) -> None:
    with X.ExportWriter(tmp_path) as writer:
        writer.write_log("civic", origin="o", verifier_key="k", entries=[b"{}"], checkpoints=[])
    (tmp_path / "civic" / "entries.jsonl").write_text('{"entry":{},"index":01,"leaf_hash":""}\n')
    (tmp_path / "civic" / "checkpoints.jsonl").write_text('{"size": "1"}\n')
    (tmp_path / "civic" / "cosignatures.jsonl").write_text("[]\n")
    with X.open_export(tmp_path) as reader:
        for method in (reader.iter_entries, reader.iter_checkpoints, reader.iter_cosignatures):
            with pytest.raises(X.ExportError, match="line 1"):
                list(method("civic"))
    (tmp_path / "manifest.json").write_text(
        '{"format": "civicforum-ledger-export/1", "logs": {"x": {}}}'
    )
    with pytest.raises(X.ExportError, match="unknown logs"):
        X.open_export(tmp_path)
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(X.ExportError, match="manifest"):
        X.open_export(tmp_path)


def test_missing_optional_files_read_as_empty(tmp_path: Path) -> None:
    with X.ExportWriter(tmp_path) as writer:
        writer.write_log("votes", origin="o", verifier_key="k", entries=[], checkpoints=[])
    (tmp_path / "votes" / "cosignatures.jsonl").unlink()
    with X.open_export(tmp_path) as reader:
        assert list(reader.iter_cosignatures("votes")) == []


@pytest.mark.parametrize(
    "line",
    [
        b'{"entry":{},"index":1,"leaf_hash":"' + b"g" * 64 + b'"}\n',
        b'{"entry":{},"index":1,"leaf_hash":"' + b"ab" * 31 + b'  "}\n',
        b'{"entry":{},"index":1,"leaf_hash":"' + b"\xff" * 64 + b'"}\n',
        b'{"entry":{},"index":01,"leaf_hash":"' + b"a" * 64 + b'"}\n',
        b'{"entry":{},"index":1,"leaf_hash":"' + b"a" * 63 + b'"}\n',
        b'{"entry":{},"index":1,"hash":"' + b"a" * 64 + b'"}\n',
        b'{"entry":{},"index":1,"leaf_hash":"' + b"a" * 64 + b'"]\n',
        b'["entry",{},"index":1,"leaf_hash":"' + b"a" * 64 + b'"}\n',
        b"",
    ],
)
def test_malformed_entry_lines(line: bytes) -> None:
    with pytest.raises(X.ExportError):
        X.parse_entry_line(line)
    assert (
        X.parse_entry_line(b'{"entry":{},"index":0,"leaf_hash":"' + b"a" * 64 + b'"}\r\n').index
        == 0
    )
