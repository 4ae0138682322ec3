"""The STV/IRV transfer diagram: every label, the last column's included, fits in the picture."""

from __future__ import annotations

import html
import re
from typing import Any

from flask.testing import FlaskClient

from civicforum.ballots.models import Method
from tests.factories_ballots import close, make_voted_ballot, rank

# The labels are 11px sans-serif; 0.6em is a fair average advance for letters and digits.
CHAR_WIDTH = 11 * 0.6


def flow_svg(text: str) -> str:
    match = re.search(r'<svg class="flow-chart".*?</svg>', text, re.S)
    assert match, "no transfer diagram on the page"
    return match.group(0)


def test_every_flow_label_fits_inside_the_svg(client: FlaskClient, db_session: Any) -> None:
    names = ("Annabel Fitzgerald-Long", "Bob", "Catherine Woodward", "Dan")
    choices = (
        [rank("o1", "o2")] * 4
        + [rank("o2", "o3")] * 3
        + [rank("o3", "o1")] * 2
        + [rank("o4", "o3")]
    )
    ballot = make_voted_ballot(db_session, choices, method=Method.IRV, options=names)
    close(db_session, ballot)

    svg = flow_svg(client.get(f"/ballots/{ballot.id}/results").text)
    view_box = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    assert view_box
    width = float(view_box.group(1))
    assert re.search(rf'width="{view_box.group(1)}"', svg)  # drawn at its own size, not squeezed
    labels = re.findall(r'<text x="([\d.]+)"[^>]*class="flow-label">(.*?)</text>', svg, re.S)
    columns = sorted({float(x) for x, _ in labels})
    assert len(columns) >= 2, svg
    last = [(float(x), html.unescape(t).strip()) for x, t in labels if float(x) == columns[-1]]
    # The winner (long name) is still standing in the last round.
    assert any("Annabel" in t for _, t in last), last
    for x, label in last:
        assert x + len(label) * CHAR_WIDTH <= width, f"{label!r} at x={x} is cut at width {width}"
    # Every column's labels end before the next column's nodes begin (they sat on top of them).
    node_columns = sorted({float(x) for x in re.findall(r'<rect x="([\d.]+)"', svg)})
    for x, text in labels:
        label = html.unescape(text).strip()
        following = [c for c in node_columns if c > float(x)]
        if following:
            end = float(x) + len(label) * CHAR_WIDTH
            assert end <= following[0], f"{label!r} at x={x} runs into the column at {following[0]}"


def test_columns_leave_room_for_the_widest_label() -> None:
    from civicforum.ballots import presentation

    rounds = [
        {
            "tally": {"a": "1500", "b": "1200", "c": "300"},
            "exhausted": "0",
            "transfers": {"c": {"a": "300"}},
        },
        {"tally": {"a": "1800", "b": "1200"}, "exhausted": "0"},
    ]
    labels = {"a": "Annabel Fitzgerald-Long", "b": "Catherine Woodward", "c": "Dan"}
    chart = presentation.flow_chart(rounds, labels)
    first, second = chart.column_x
    for node in chart.nodes:
        if node.x == first:
            room = presentation._flow_label_width(node.label, node.value)
            assert node.x + room <= second, (node.label, node.value, second)
