"""``tabulate``: one entry point that counts any supported method."""

from __future__ import annotations

from civicforum.tabulation.approval import tally_approval
from civicforum.tabulation.lot import Lot
from civicforum.tabulation.ranked import tally_ranked
from civicforum.tabulation.schulze import tally_schulze
from civicforum.tabulation.types import Election, Result


def tabulate(election: Election, *, lot: Lot | None = None) -> Result:
    """Count ``election`` by its method; ``lot`` breaks ties the rules leave to chance.

    Counting and tie rules are those of ``tally_approval``, ``tally_ranked`` (IRV and STV) and
    ``tally_schulze``. Without a lot, a tie that needs one raises TieBreakError.
    """
    if election.method == "approval":
        return tally_approval(election, lot=lot)
    if election.method == "schulze":
        return tally_schulze(election, lot=lot)
    return tally_ranked(election, lot=lot)
