from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance" / "rcv"
CASES = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []


def load_case(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f, parse_float=Decimal)
    return data
