"""The region × theme matrix: how many cards each place has under each theme, and its strongest.

Cards are rolled up to the requested level (a county's card counts for its city and
province); a card above that level stays in its own row (a province-wide rule in a
city-level table). Pure functions over stored cards; CSV for spreadsheets.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from kb import regions
from kb.errors import QueryError
from kb.types import CompareCell, Comparison, PracticeCard, Theme

LEVELS = {"province": 1, "city": 2, "county": 3}


def roll_up(code: str, level: int) -> tuple[str, str]:
    """(code, full name) of the division at ``level`` containing ``code`` (itself when higher)."""
    region = regions.lookup(code)
    if region.level <= level:
        return region.code, region.name
    for anc in reversed(regions.ancestors(region)):
        if anc.level <= level:
            return anc.code, anc.name
    return region.code, region.name


def compare(
    cards: Sequence[PracticeCard], themes: Sequence[Theme], level: str = "county", region_order: str = "count"
) -> Comparison:
    """Matrix of ``cards`` over ``themes`` (columns in taxonomy order); rows by card count, most first."""
    if level not in LEVELS:
        raise QueryError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
    names = [t.name for t in themes]
    wanted = set(names)
    table: dict[str, dict[str, list[PracticeCard]]] = {}
    codes: dict[str, str] = {}
    for card in cards:
        if not card.region_code:
            continue
        code, name = roll_up(card.region_code, LEVELS[level])
        codes[name] = code
        for theme in card.themes:
            if theme in wanted:
                table.setdefault(name, {}).setdefault(theme, []).append(card)
    total = {r: sum(len(v) for v in row.values()) for r, row in table.items()}
    if region_order == "count":
        rows = sorted(table, key=lambda r: (-total[r], codes[r]))
    else:
        rows = sorted(table, key=lambda r: codes[r])
    cells = tuple(
        tuple(_cell(r, t, table[r].get(t, [])) for t in names)
        for r in rows
    )  # fmt: skip
    return Comparison(tuple(rows), tuple(names), cells, level)


def _cell(region: str, theme: str, cards: list[PracticeCard]) -> CompareCell:
    best = max(cards, key=lambda c: (c.kind == "practice", c.score, c.card_id), default=None)
    return CompareCell(region, theme, len(cards), best)


def to_csv(comparison: Comparison) -> str:
    """Wide CSV: one row per region; per theme its card count and its strongest card's name."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["地区", *[x for t in comparison.themes for x in (t, f"{t}·代表做法")]])
    for region, row in zip(comparison.regions, comparison.cells, strict=True):
        w.writerow([region, *[x for c in row for x in (c.count, c.best.name if c.best else "")]])
    return out.getvalue()
