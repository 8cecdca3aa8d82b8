"""Which counterexample families each descriptor fails: the audit's verdicts grouped by family.

The catalog's pairs (:mod:`completeness.structures`) fall into the families of the literature:
equal 2-body pairs, the PRL 2020 3-body pairs and their fold, homometric rings, the B8 4-body
pairs, mirror images, and the whole-cloud families of message passing (Gram sign flip, the dojo's
k-chains, the polyhedral 1-WL pairs) and of homometry. :func:`family_table` runs the audit's
verdicts (:func:`completeness.analysis.distance.verdicts`) of every descriptor on every pair and
summarises each family per descriptor: ``"fails"`` (degenerate on every pair of the family),
``"resolves"`` (resolved on every pair), or ``"k/n resolved"``; a family with an inconclusive or
failed verdict says so.
"""

from __future__ import annotations

from .. import structures
from .distance import verdicts

__all__ = ["FAMILIES", "family_markdown", "family_of", "family_table"]

#: Column order and label of each family.
FAMILIES = {
    "two-body": "2-body",
    "prl-3-body": "3-body (PRL 2020)",
    "prl-fold": "fold",
    "ring-homometric": "homometric rings",
    "b8-two-ring": "B8 (4-body)",
    "enantiomers": "mirror images",
    "gram-sign-flip": "Gram sign flip",
    "kchain": "k-chains",
    "polyhedral": "polyhedral 1-WL",
    "global-homometric": "homometric clouds",
}


def family_of(pair) -> str:
    """Family key of a catalog pair (the global message-passing pairs are split by source)."""
    if pair.name == "gram-sign-flip":
        return "gram-sign-flip"
    if pair.name.startswith("dojo-kchain-"):
        return "kchain"
    if pair.name.startswith("li2023-"):
        return "polyhedral"
    return pair.family


def family_table(descriptors: dict, pairs=None, *, seed: int = 0) -> dict:
    """``{descriptor: {family: {"resolved": k, "degenerate": d, "other": o, "pairs": n,
    "summary": str}}}`` over the catalog (or ``pairs``)."""
    pairs = [structures.load(name) for name in structures.names()] if pairs is None else pairs
    families = {pair.name: family_of(pair) for pair in pairs}
    table = {}
    for name, descriptor in descriptors.items():
        row: dict = {}
        for result in verdicts(descriptor, pairs, seed=seed, name=name):
            cell = row.setdefault(
                families[result.pair], {"resolved": 0, "degenerate": 0, "other": 0, "pairs": 0}
            )
            cell["pairs"] += 1
            key = result.verdict if result.verdict in ("resolved", "degenerate") else "other"
            cell[key] += 1
        for cell in row.values():
            cell["summary"] = _summary(cell)
        table[name] = row
    return table


def _summary(cell: dict) -> str:
    if cell["other"]:
        return f"{cell['resolved']}/{cell['pairs']} resolved, {cell['other']} inconclusive/error"
    if cell["degenerate"] == cell["pairs"]:
        return "fails"
    if cell["resolved"] == cell["pairs"]:
        return "resolves"
    return f"{cell['resolved']}/{cell['pairs']} resolved"


def family_markdown(table: dict) -> str:
    """One Markdown table: descriptors as rows, families as columns."""
    present = [f for f in FAMILIES if any(f in row for row in table.values())]
    extra = sorted({f for row in table.values() for f in row} - set(FAMILIES))
    columns = present + extra
    sizes = {f: next(row[f]["pairs"] for row in table.values() if f in row) for f in columns}
    lines = [
        "| descriptor | "
        + " | ".join(f"{FAMILIES.get(f, f)} ({sizes[f]})" for f in columns)
        + " |",
        "|---|" + "---|" * len(columns),
    ]
    for name, row in table.items():
        cells = [row[f]["summary"] if f in row else "-" for f in columns]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
