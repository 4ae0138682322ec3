"""RCTab contests: a contest configuration and its cast vote records, counted by RCTab's rules.

``load_contest(CONFIG)`` reads an RCTab 2.0 configuration (:mod:`.config`) and every cast vote
record file it names (:mod:`.readers`) into one :class:`~civicforum.tabulation.Election` whose
rules are the configuration's; ``civicforum.tabulation.tabulate`` then counts it round by round
as RCTab does, and :mod:`.report` writes the result in RCTab's detailed-report JSON shape.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from civicforum.tabulation.cvr import BallotBuilder
from civicforum.tabulation.rctab.config import ContestConfig, load_config
from civicforum.tabulation.rctab.readers import read_sources
from civicforum.tabulation.types import Election


@dataclass(frozen=True, slots=True)
class Contest:
    """A configuration and the election its cast vote records make."""

    config: ContestConfig
    election: Election


def load_contest(path: str | os.PathLike[str], *, fast: bool = True) -> Contest:
    """Read an RCTab configuration and its CVR files; ``fast`` allows the optional readers."""
    config = load_config(path)
    builder = BallotBuilder(config.names, config.aliases, max_rank=config.rules.max_rankings)
    read_sources(config, builder, fast=fast)
    method = "irv" if config.rules.seats == 1 else "stv"
    election = builder.election(method, config.rules, where=str(config.path))
    return Contest(config=config, election=election)


__all__ = ["Contest", "ContestConfig", "load_config", "load_contest"]
