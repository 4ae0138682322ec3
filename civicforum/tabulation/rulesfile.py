"""Rules files: the counting rules that travel with a ballot file which cannot hold them.

A CSV, BLT or NIST CDF file carries ballots but not (all) the rules they were counted by; a
rules file (``civicforum-rules/1``, JSON) gives them, so that ``civicforum-audit tabulate FILE
--rules RULES`` reproduces the published result::

    {"format": "civicforum-rules/1",
     "method": "stv",
     "rules": {"numberOfWinners": 2, ...},            # RCTab-named keys (Rules.from_json)
     "lot": {"seed": "<hex>", "names": {"Label": "o1", ...}}}

``lot`` is civicforum's published lot: its seed, and the option ids the draw is made over
(the file names options by label, the lot hashes ids). Every key but ``format`` is optional.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from civicforum.tabulation.errors import InputFormatError, InvalidElectionError
from civicforum.tabulation.types import Method, Rules, normalise_method

RULES_FORMAT = "civicforum-rules/1"
_KEYS = {"format", "method", "rules", "lot", "about"}


@dataclass(frozen=True, slots=True)
class RulesFile:
    method: Method | None = None
    rules: Rules | None = None
    seed: bytes | None = None
    lot_names: Mapping[str, str] = field(default_factory=dict)


def parse_rules_file(data: Any, *, path: str = "rules") -> RulesFile:
    """Check and read a rules file's JSON; errors name the file and the key."""

    def fail(message: str) -> InputFormatError:
        return InputFormatError(message, path=path)

    if not isinstance(data, Mapping):
        raise fail("a rules file must be a JSON object")
    if data.get("format") != RULES_FORMAT:
        raise fail(f'"format" must be {RULES_FORMAT!r}')
    if unknown := sorted(set(data) - _KEYS):
        raise fail(f"unknown key(s) {unknown}; expected some of {sorted(_KEYS)}")
    try:
        method = normalise_method(data["method"]) if "method" in data else None
        rules = Rules.from_json(data["rules"]) if "rules" in data else None
    except (InvalidElectionError, TypeError) as exc:
        raise fail(str(exc)) from None
    seed, names = None, {}
    if "lot" in data:
        lot = data["lot"]
        if not isinstance(lot, Mapping) or set(lot) - {"seed", "names"}:
            raise fail('"lot" must be an object with "seed" and "names"')
        try:
            seed = bytes.fromhex(lot.get("seed", ""))
        except (TypeError, ValueError):
            seed = b""
        if not seed:
            raise fail('"lot.seed" must be non-empty hexadecimal')
        names = lot.get("names", {})
        if not isinstance(names, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in names.items()
        ):
            raise fail('"lot.names" must map option names to lot names (strings)')
    return RulesFile(method=method, rules=rules, seed=seed, lot_names=dict(names))


def load_rules_file(path: str | os.PathLike[str]) -> RulesFile:
    """Read a rules file (see the module docstring)."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except OSError as exc:
        raise InputFormatError(f"cannot read file: {exc.strerror}", path=name) from None
    except UnicodeDecodeError:
        raise InputFormatError("not valid UTF-8", path=name) from None
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"invalid JSON: {exc.msg}", line=exc.lineno, path=name) from None
    return parse_rules_file(data, path=name)


def rules_file_json(
    *,
    method: str,
    rules: Mapping[str, Any],
    seed: bytes | None = None,
    lot_names: Mapping[str, str] | None = None,
    about: str | None = None,
) -> dict[str, Any]:
    """The JSON of a rules file (the inverse of ``parse_rules_file``)."""
    out: dict[str, Any] = {"format": RULES_FORMAT}
    if about:
        out["about"] = about
    out["method"] = method
    out["rules"] = dict(rules)
    if seed is not None:
        out["lot"] = {"seed": seed.hex(), "names": dict(lot_names or {})}
    return out
