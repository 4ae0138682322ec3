"""What the ballot pages show: form values, result tables and server-side SVG geometry.

Charts are drawn from the published result JSON (exact decimals); floats are used only for
pixel coordinates. Every chart has a table beside it as its text alternative.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from civicforum.ballots import counting
from civicforum.ballots.models import Ballot, BallotStatus
from civicforum.ballots.validation import Choice, _getlist
from civicforum.tabulation import result_to_json

# ----------------------------------------------------------------------------- voting form


def form_values(ballot: Ballot, choice: Choice | None) -> dict[str, str]:
    """Pre-filled form values for a recorded choice (a vote change starts from it)."""
    if choice is None or choice.blank:
        return {}
    if choice.ranked:
        return {f"rank-{key}": str(i) for i, key in enumerate(choice.ranking, 1)}
    if choice.points:
        return {f"points-{key}": str(n) for key, n in choice.points}
    return {f"approve-{key}": "1" for key in choice.approvals}


def submitted_values(ballot: Ballot, form: Mapping[str, Any]) -> dict[str, str]:
    """What the voter sent, to re-fill the form after a refusal or an "edit" step."""
    values: dict[str, str] = {}
    for option in ballot.options:
        rank = _getlist(form, f"rank-{option.key}")
        if rank and rank[0].strip():
            values[f"rank-{option.key}"] = rank[0].strip()
        points = _getlist(form, f"points-{option.key}")
        if points and points[0].strip():
            values[f"points-{option.key}"] = points[0].strip()[:12]
    for key in _getlist(form, "approve"):
        values[f"approve-{key}"] = "1"
    if "1" in _getlist(form, "blank"):
        values["blank"] = "1"
    return values


# ----------------------------------------------------------------------------- results

_KEY = re.compile(r"\bo\d+\b")


def relabel(text: str, labels: Mapping[str, str]) -> str:
    return _KEY.sub(lambda m: labels.get(m.group(0), m.group(0)), text)


def fmt(value: Decimal | int | None) -> str:
    if value is None:
        return ""
    d = Decimal(value)
    return str(int(d)) if d == d.to_integral_value() else format(d.normalize(), "f")


@dataclass(frozen=True)
class Bar:
    label: str
    value: str
    y: float
    width: float
    css: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_width: int
    bars: tuple[Bar, ...]
    threshold_x: float | None
    threshold: str | None


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    votes: str
    share: str
    status: str  # "elected" | "eliminated" | "" (continuing)


@dataclass(frozen=True)
class RoundView:
    number: int
    rows: tuple[Row, ...]
    exhausted: str
    threshold: str | None
    chart: BarChart
    transfers: tuple[tuple[str, str, str], ...]  # (from, to, votes) text alternative


@dataclass(frozen=True)
class Band:
    path: str
    css: str
    title: str


@dataclass(frozen=True)
class Node:
    x: float
    y: float
    height: float
    label: str
    value: str
    css: str


@dataclass(frozen=True)
class FlowChart:
    width: int
    height: int
    column_x: tuple[float, ...]
    nodes: tuple[Node, ...]
    bands: tuple[Band, ...]


@dataclass
class ResultsView:
    ballot: Ballot
    provisional: bool
    method: str
    winners: list[str]
    total_ballots: int
    undervotes: int
    threshold: str | None
    rounds: list[RoundView] = field(default_factory=list)
    flow: FlowChart | None = None
    tiebreaks: list[dict[str, Any]] = field(default_factory=list)
    ranking: list[str] = field(default_factory=list)
    pairwise: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    strongest: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    option_labels: list[str] = field(default_factory=list)
    has_votes: bool = True  # False: no ballot expressed a choice, so there is no winner
    # A provisional count stopped at a tie only the closing lot can break: (round, tied labels).
    undecided: tuple[int, list[str]] | None = None


def parse_result(text: str) -> dict[str, Any]:
    return dict(json.loads(text, parse_float=Decimal))


def results_view(session: Session, ballot: Ballot) -> ResultsView | None:
    """The published result, or a provisional count for an open ballot that shows results."""
    from civicforum.ballots import services

    if ballot.status == BallotStatus.CLOSED and ballot.result_json:
        return build_view(ballot, parse_result(ballot.result_json), provisional=False)
    if ballot.status == BallotStatus.OPEN and not ballot.results_hidden:
        result, lot = counting.provisional(
            ballot.method,
            [o.key for o in ballot.options],
            services.ballot_rules(ballot),
            services.live_choices(session, ballot),
        )
        data = json.loads(json.dumps(result_to_json(result)), parse_float=Decimal)
        if not lot.ties:
            return build_view(ballot, data, provisional=True)
        # Show the count up to the first tie that needs the lot, and nothing decided after it.
        round_number, _kind, tied = lot.ties[0]
        data["rounds"] = data.get("rounds", [])[:round_number]
        data["tiebreaks"] = [t for t in data.get("tiebreaks", []) if t["round"] < round_number]
        data["winners"] = []
        data["ranking"] = None
        view = build_view(ballot, data, provisional=True)
        labels = {o.key: o.label for o in ballot.options}
        view.undecided = (round_number, [labels.get(k, k) for k in tied])
        return view
    return None


def build_view(ballot: Ballot, data: Mapping[str, Any], *, provisional: bool) -> ResultsView:
    labels = {o.key: o.label for o in ballot.options}
    view = ResultsView(
        ballot=ballot,
        provisional=provisional,
        method=str(data["method"]),
        winners=[labels.get(w, w) for w in data["winners"]],
        total_ballots=int(data["totalBallots"]),
        undervotes=int(data["undervotes"]),
        threshold=fmt(data["threshold"]) if data.get("threshold") is not None else None,
        option_labels=[labels.get(k, k) for k in data["options"]],
        has_votes=counting.has_votes(int(data["totalBallots"]), int(data["undervotes"])),
    )
    for t in data.get("tiebreaks", []):
        view.tiebreaks.append(
            {
                "round": t["round"],
                "tied": [labels.get(k, k) for k in t["tied"]],
                "selected": labels.get(t["selected"], t["selected"]),
                "kind": t["type"],
                "explanation": relabel(str(t["explanation"]), labels),
            }
        )
    rounds = data.get("rounds", [])
    decided: set[str] = set()
    for r in rounds:
        view.rounds.append(_round_view(r, labels, decided))
        decided |= set(r["elected"])  # elected earlier: shown as such in later rounds
    if ballot.is_ranked and len(rounds) > 1:
        view.flow = flow_chart(rounds, labels)
    if data.get("ranking"):
        view.ranking = [labels.get(k, k) for k in data["ranking"]]
    for name, target in (("pairwise", view.pairwise), ("strongestPaths", view.strongest)):
        matrix = data.get(name)
        if matrix:
            for a in data["options"]:
                target.append(
                    (
                        labels.get(a, a),
                        [("" if a == b else fmt(matrix[a].get(b, 0)), b) for b in data["options"]],
                    )
                )
    return view


CHART_WIDTH = 640
LABEL_WIDTH = 200
BAR_HEIGHT = 26
BAR_GAP = 8


def _round_view(r: Mapping[str, Any], labels: Mapping[str, str], decided: set[str]) -> RoundView:
    tally: Mapping[str, Decimal] = {k: Decimal(v) for k, v in r["tally"].items()}
    active = sum(tally.values(), Decimal(0))
    elected, eliminated = set(r["elected"]), set(r["eliminated"])
    rows = []
    for key, votes in tally.items():
        status = (
            "elected"
            if key in elected
            else "eliminated"
            if key in eliminated
            else "elected-earlier"
            if key in decided
            else ""
        )
        share = f"{(votes * 100 / active):.1f} %" if active else "–"
        rows.append(Row(key, labels.get(key, key), fmt(votes), share, status))
    top = max([*tally.values(), Decimal(r["threshold"] or 0), Decimal(1)])
    span = CHART_WIDTH - LABEL_WIDTH - 70
    bars = tuple(
        Bar(
            label=row.label,
            value=row.votes,
            y=i * (BAR_HEIGHT + BAR_GAP) + 4,
            width=float(tally[row.key] / top) * span,
            css=f"bar bar-{row.status or 'continuing'}",
        )
        for i, row in enumerate(rows)
    )
    threshold = r.get("threshold")
    chart = BarChart(
        width=CHART_WIDTH,
        height=len(bars) * (BAR_HEIGHT + BAR_GAP) + 8,
        label_width=LABEL_WIDTH,
        bars=bars,
        threshold_x=(LABEL_WIDTH + float(Decimal(threshold) / top) * span) if threshold else None,
        threshold=fmt(threshold) if threshold is not None else None,
    )
    transfers = tuple(
        (labels.get(src, src), labels.get(dst, _sink_label(dst)), fmt(Decimal(amount)))
        for src, moves in r.get("transfers", {}).items()
        for dst, amount in moves.items()
        if Decimal(amount)
    )
    return RoundView(
        number=int(r["round"]),
        rows=tuple(rows),
        exhausted=fmt(r["exhausted"]),
        threshold=fmt(threshold) if threshold is not None else None,
        chart=chart,
        transfers=transfers,
    )


def _sink_label(key: str) -> str:
    from flask_babel import gettext as _

    return _("exhausted") if key == "exhausted" else _("residual surplus")


SINK = "__inactive__"
FLOW_COLUMN_GAP = 150
FLOW_NODE_WIDTH = 14
FLOW_HEIGHT = 320
FLOW_PAD = 10
# templates/ballots/results.html writes each node's label at x + 18, 11px, "name value" with the
# name cut by Jinja's truncate(16) (which keeps up to 21 characters, then cuts to 15 + "…").
FLOW_LABEL_OFFSET = 18
FLOW_LABEL_NAME_MAX = 21
FLOW_LABEL_NAME_CUT = 15
# A generous average advance for an 11px sans-serif font (wide letters and digits ~0.6em).
FLOW_LABEL_CHAR_WIDTH = 7.0


def _flow_label_width(label: str, value: str) -> float:
    """Room a node's label needs to the right of the node."""
    if len(label) > FLOW_LABEL_NAME_MAX:
        label = label[:FLOW_LABEL_NAME_CUT] + "…"
    return FLOW_LABEL_OFFSET + len(f"{label} {value}") * FLOW_LABEL_CHAR_WIDTH


def flow_chart(rounds: list[Mapping[str, Any]], labels: Mapping[str, str]) -> FlowChart:
    """A Sankey-like picture of how votes moved from each round to the next."""
    columns: list[dict[str, Decimal]] = []
    for r in rounds:
        col = {k: Decimal(v) for k, v in r["tally"].items()}
        col[SINK] = Decimal(r["exhausted"])
        columns.append(col)
    biggest = max(sum(c.values(), Decimal(0)) for c in columns) or Decimal(1)
    most_nodes = max(len(c) for c in columns)
    usable = FLOW_HEIGHT - FLOW_PAD * (most_nodes - 1)
    scale = usable / float(biggest)

    def label_of(key: str) -> str:
        return labels.get(key, _sink_label("exhausted") if key == SINK else key)

    # Columns far enough apart that a label never runs into the next column's nodes.
    widest = max(_flow_label_width(label_of(k), fmt(v)) for col in columns for k, v in col.items())
    gap = max(FLOW_COLUMN_GAP, math.ceil(widest) + FLOW_NODE_WIDTH)
    left = 10.0
    column_x = tuple(left + i * gap for i in range(len(columns)))
    positions: list[dict[str, tuple[float, float]]] = []
    nodes: list[Node] = []
    for i, col in enumerate(columns):
        y = 0.0
        pos: dict[str, tuple[float, float]] = {}
        for key, value in col.items():
            h = float(value) * scale
            pos[key] = (y, h)
            if value or key != SINK:
                nodes.append(
                    Node(
                        x=column_x[i],
                        y=y,
                        height=max(h, 1.0),
                        label=label_of(key),
                        value=fmt(value),
                        css="flow-node flow-inactive" if key == SINK else "flow-node",
                    )
                )
            y += h + FLOW_PAD
        positions.append(pos)
    bands: list[Band] = []
    for i, r in enumerate(rounds[:-1]):
        out_y = {k: positions[i][k][0] for k in positions[i]}
        in_y = {k: positions[i + 1][k][0] for k in positions[i + 1]}
        transfers = r.get("transfers", {})
        moves: list[tuple[str, str, Decimal]] = []
        for key, value in columns[i].items():
            sent = {d: Decimal(v) for d, v in transfers.get(key, {}).items()}
            keep = value - sum(sent.values(), Decimal(0))
            if key in columns[i + 1] and keep > 0:
                moves.append((key, key, keep))
            for dst, amount in sent.items():
                target = dst if dst in columns[i + 1] else SINK
                if amount > 0:
                    moves.append((key, target, amount))
        # Bands into a node stack in source order, so kept votes sit on top of transfers.
        for src, dst, amount in moves:
            h = float(amount) * scale
            x0 = column_x[i] + FLOW_NODE_WIDTH
            x1 = column_x[i + 1]
            y0, y1 = out_y[src], in_y.get(dst, 0.0)
            out_y[src] += h
            in_y[dst] = y1 + h
            mid = (x0 + x1) / 2
            path = (
                f"M{x0:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f} "
                f"L{x1:.1f},{y1 + h:.1f} C{mid:.1f},{y1 + h:.1f} {mid:.1f},{y0 + h:.1f} "
                f"{x0:.1f},{y0 + h:.1f} Z"
            )
            name = labels.get(src, src) if src != SINK else _sink_label("exhausted")
            target_name = labels.get(dst, dst) if dst != SINK else _sink_label("exhausted")
            css = "flow-band flow-keep" if src == dst else "flow-band flow-move"
            bands.append(Band(path, css, f"{name} → {target_name}: {fmt(amount)}"))
    # The last column's labels sit to the right of its nodes: the picture must include them.
    right = max(
        [column_x[-1] + FLOW_NODE_WIDTH]
        + [n.x + _flow_label_width(n.label, n.value) for n in nodes if n.x == column_x[-1]]
    )
    width = math.ceil(right + 10)
    height = int(max(sum(h + FLOW_PAD for _, h in p.values()) for p in positions)) + 10
    return FlowChart(width, height, column_x, tuple(nodes), tuple(bands))
