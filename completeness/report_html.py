"""One self-contained HTML file for an audit: open it in any browser, offline.

:func:`audit_html` turns the JSON-ready data of an audit (:meth:`Audit.to_dict
<completeness.analysis.report.Audit.to_dict>`, or a file written by ``completeness audit
--json``) into one page with

* the verdict heat map: pairs x descriptors, one cell per verdict with its margin in decades
  above the noise floor, the oracle's O3/SO3 reading per pair, findings marked, environment
  pairs apart from whole-structure pairs;
* the oracle's claim per pair (statement, reference);
* an interactive 3D view of both members of the selected pair (3Dmol.js, inlined from
  ``completeness/assets``, so nothing is fetched when the page is viewed), with the atoms that
  differ between the members highlighted;
* the report cards.

The *differing atoms* of a pair are those of one member with no atom of the same species at the
same place (within :data:`SAME_PLACE` Å) in the other, both members taken relative to their
origin (the centre, atom 0, for environment pairs; the centroid for whole-structure pairs) in the
frames the pair stores them in.
"""

from __future__ import annotations

import html
import json
import math
from importlib import resources
from types import SimpleNamespace

import numpy as np

from .analysis.audit_figure import FINDINGS, cell_label
from .analysis.report import ReportCard
from .analysis.style import VERDICT_COLOURS, VERDICT_TEXT

__all__ = ["SAME_PLACE", "audit_html", "differing_atoms"]

#: Two atoms closer than this (Å) after centring are "at the same place" (see module docstring).
SAME_PLACE = 1e-2


def differing_atoms(plus, minus, scope: str = "environment") -> tuple[list[int], list[int]]:
    """Indices of the atoms of ``plus`` and of ``minus`` with no same-species atom at the same
    place in the other member (see the module docstring)."""
    centred = [_centred(atoms, scope) for atoms in (plus, minus)]
    numbers = [atoms.numbers for atoms in (plus, minus)]
    out = []
    for own, other in ((0, 1), (1, 0)):
        gaps = np.linalg.norm(centred[own][:, None] - centred[other][None], axis=-1)
        same_species = numbers[own][:, None] == numbers[other][None]
        gaps = np.where(same_species, gaps, np.inf)
        out.append([int(i) for i in np.flatnonzero(gaps.min(axis=1) > SAME_PLACE)])
    return out[0], out[1]


def _centred(atoms, scope: str) -> np.ndarray:
    positions = atoms.get_positions()
    origin = positions[0] if scope == "environment" else positions.mean(axis=0)
    return positions - origin


def _members(pair, scope: str) -> dict:
    plus_diff, minus_diff = differing_atoms(pair.plus, pair.minus, scope)
    out = {}
    for label, atoms, diff in (("plus", pair.plus, plus_diff), ("minus", pair.minus, minus_diff)):
        out[label] = {
            "symbols": atoms.get_chemical_symbols(),
            "positions": np.round(_centred(atoms, scope), 6).tolist(),
            "differing": diff,
        }
    return out


def _catalog_pair(name: str):
    """The registered pair called ``name`` (None for pairs outside the catalog)."""
    from . import structures

    return structures.load(name) if name in structures.names() else None


def audit_html(data: dict, pairs=None, *, title: str = "completeness audit") -> str:
    """The page (a string) for ``data`` from :meth:`Audit.to_dict`.

    ``pairs``: the pair objects (with ``plus``/``minus``) in the order of ``data["pairs"]``; when
    omitted, catalog pairs are loaded by name and other pairs are shown without a 3D view.
    """
    records = data["pairs"]
    if pairs is None:
        pairs = [_catalog_pair(record["name"]) for record in records]
    structures = [
        None if pair is None else _members(pair, record["scope"])
        for record, pair in zip(records, pairs, strict=True)
    ]
    names = [record["name"] for record in data["descriptors"]]
    verdicts = {(v["descriptor"], v["pair"]): v for v in data["verdicts"]}
    body = [
        f"<h1>{_e(title)}</h1>",
        _summary(data, names, records),
        _heat_map(records, names, verdicts),
        _viewer_section(records, structures),
        _claims(records, structures),
        _cards(data),
    ]
    script = _asset("3Dmol-min.js").replace("</script", "<\\/script")
    payload = json.dumps(
        {
            "pairs": [r["name"] for r in records],
            "scopes": [r["scope"] for r in records],
            "structures": structures,
        }
    )
    payload = payload.replace("</", "<\\/")
    return _PAGE.format(
        title=_e(title),
        style=_style(),
        body="\n".join(body),
        threedmol=script,
        payload=payload,
        viewer=_VIEWER_JS,
    )


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _asset(name: str) -> str:
    return (resources.files("completeness") / "assets" / name).read_text(encoding="utf-8")


def _summary(data: dict, names: list, records: list) -> str:
    rule = data.get("rule", {})
    degenerate = 10 ** rule.get("degenerate_decades", 1)
    resolved = 10 ** rule.get("resolved_decades", 2)
    lines = [
        f"<p>{len(names)} descriptor(s) x {len(records)} pair(s), seed {_e(data.get('seed'))}, "
        f"completeness {_e(data.get('completeness', ''))}. Verdict: the relative feature distance "
        "of the two members against the noise floor (the spread under random rotations and "
        f"permutations of each member): <b>degenerate</b> at most {degenerate:g}x the floor, "
        f"<b>resolved</b> at least {resolved:g}x, <b>inconclusive</b> in between.</p>"
    ]
    if data.get("oracle"):
        lines.append(f"<p class='oracle'>Oracle: {_e(data['oracle'])}</p>")
    return "\n".join(lines)


def _cell(verdict: dict | None) -> str:
    if verdict is None:
        return "<td class='missing'>-</td>"
    kind = verdict["verdict"]
    finding = verdict.get("status") in FINDINGS
    margin = verdict.get("margin")  # None in JSON for a non-finite margin
    record = {**verdict, "margin": math.nan if margin is None else margin}
    label = cell_label(SimpleNamespace(**record))
    style = f"background:{VERDICT_COLOURS[kind]};color:{VERDICT_TEXT[kind]}"
    classes = f"verdict {kind}" + (" finding" if finding else "")
    return (
        f"<td class='{classes}' style='{style}' title='{_e(verdict.get('reading', kind))}'>"
        f"{_e(label)}</td>"
    )


def _heat_map(records: list, names: list, verdicts: dict) -> str:
    header = "".join(f"<th class='descriptor'><span>{_e(name)}</span></th>" for name in names)
    rows = []
    scopes = [record["scope"] for record in records]
    for index, record in enumerate(records):
        if index == 0 or scopes[index] != scopes[index - 1]:
            label = (
                "environment pairs (centre = atom 0)"
                if record["scope"] == "environment"
                else "whole-structure pairs (features of every atom compared as a multiset)"
            )
            rows.append(
                f"<tr class='separator'><th colspan='{len(names) + 2}'>{_e(label)}</th></tr>"
            )
        name = record["name"]
        reading = f"{record['equal_up_to_o3']}/{record['equal_up_to_so3']}"
        cells = "".join(_cell(verdicts.get((descriptor, name))) for descriptor in names)
        rows.append(
            f"<tr class='pair-row' data-pair='{index}'><th class='pair'>"
            f"<a href='#viewer' data-pair='{index}'>{_e(name)}</a></th>"
            f"<td class='o3so3'>{reading}</td>{cells}</tr>"
        )
    key = "".join(
        f"<li><span class='swatch' style='background:{VERDICT_COLOURS[kind]}'></span>{kind}</li>"
        for kind in ("degenerate", "inconclusive", "resolved", "error")
    )
    legend = (
        f"<ul class='key'>{key}</ul>"
        "<p class='legend'>Numbers: margin in decades above the noise floor (log10 of the "
        "distance over the floor). <b>\u2261</b>: the features of the two members are equal bit "
        "for bit (distance exactly 0, so no margin). <b>*</b>: a finding, the verdict "
        "differs from what the oracle's claim predicts for the descriptor's declared body order "
        "(basis-limited: resolvable but not resolved; contradiction: resolved although the "
        "claim says it cannot be). <b>!</b>: the descriptor raised. <b>O3/SO3</b>: the highest "
        "body order at which the pair's O(3) / oriented SO(3) signatures coincide (oracle). "
        "Hover a cell for the full reading; click a pair for its 3D view.</p>"
    )
    return (
        "<h2 id='verdicts'>Verdicts</h2>"
        "<table class='heat'><thead><tr><th>pair</th><th>O3/SO3</th>"
        f"{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>{legend}"
    )


def _viewer_section(records: list, structures: list) -> str:
    options = "".join(
        f"<option value='{index}'>{_e(record['name'])}</option>"
        for index, (record, members) in enumerate(zip(records, structures, strict=True))
        if members is not None
    )
    if not options:
        return "<h2 id='viewer'>3D view</h2><p>No structures available for these pairs.</p>"
    return (
        "<h2 id='viewer'>3D view</h2>"
        f"<p><label>pair <select id='pair-select'>{options}</select></label> "
        "drag to rotate, scroll to zoom. Highlighted (large translucent magenta spheres): atoms "
        "of one member with no atom of the same species at the same place in the other; the "
        "centre (environment pairs) is labelled.</p>"
        "<div class='viewers'>"
        "<figure><div id='viewer-plus' class='viewer'></div><figcaption>X+</figcaption></figure>"
        "<figure><div id='viewer-minus' class='viewer'></div><figcaption>X-</figcaption></figure>"
        "</div><p id='viewer-claim' class='claim'></p>"
    )


def _claims(records: list, structures: list) -> str:
    rows = []
    for record, members in zip(records, structures, strict=True):
        differing = (
            "not in the results file"
            if members is None
            else f"{len(members['plus']['differing'])} / {len(members['minus']['differing'])}"
        )
        rows.append(
            f"<tr><th>{_e(record['name'])}</th><td>{_e(record['scope'])}</td>"
            f"<td>{record['equal_up_to_o3']}/{record['equal_up_to_so3']}</td>"
            f"<td>{_e(record.get('statement', ''))}</td><td>{differing}</td>"
            f"<td class='reference'>{_e(record.get('reference', ''))}</td></tr>"
        )
    return (
        "<h2 id='claims'>The oracle's claim per pair</h2><table class='claims'><thead><tr>"
        "<th>pair</th><th>scope</th><th>O3/SO3</th><th>claim</th><th>differing atoms X+ / X-"
        f"</th><th>reference</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _cards(data: dict) -> str:
    cards = data.get("cards") or {}
    if not cards:
        return ""
    timings = data.get("timings") or {}
    parts = ["<h2 id='cards'>Report cards</h2>"]
    for name, card_data in cards.items():
        card = ReportCard.from_dict(card_data, timings=timings.get(name))
        lines = card.summary_lines(timings=bool(timings.get(name)))
        items = "".join(
            f"<li class='{'finding' if line.strip().startswith('finding') else ''}'>"
            f"{_e(line.strip())}</li>"
            for line in lines[1:]
        )
        parts.append(f"<section class='card'><h3>{_e(lines[0])}</h3><ul>{items}</ul></section>")
    return "\n".join(parts)


def _style() -> str:
    return """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px;
       padding: 0 1em; color: #111; }
table { border-collapse: collapse; font-size: 13px; }
table.heat td, table.heat th { border: 1px solid #fff; padding: 2px 6px; text-align: center; }
table.heat th.pair { text-align: left; font-weight: normal; }
table.heat td.finding { outline: 2px solid #000; outline-offset: -3px; font-weight: bold; }
table.heat tr.separator th { text-align: left; background: #eee; font-style: italic; }
td.o3so3 { background: #f7f7f7; }
ul.key { list-style: none; padding: 0; display: flex; gap: 1.5em; }
.swatch { display: inline-block; width: 1em; height: 1em; margin-right: 0.4em;
          vertical-align: middle; border: 1px solid #888; }
.viewers { display: flex; gap: 1em; flex-wrap: wrap; }
.viewer { width: 420px; height: 360px; position: relative; border: 1px solid #ccc;
          overflow: hidden; }
th.descriptor { vertical-align: bottom; }
th.descriptor span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap;
                     font-weight: normal; }
tr.pair-row.selected th.pair { background: #fde9f3; }
table.claims td, table.claims th { border-bottom: 1px solid #ddd; padding: 3px 6px;
                                   vertical-align: top; text-align: left; }
td.reference { font-size: 11px; color: #444; }
section.card li.finding { color: #a33c00; }
"""


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
{body}
<script>{threedmol}</script>
<script type="application/json" id="completeness-data">{payload}</script>
<script>{viewer}</script>
</body>
</html>
"""

_VIEWER_JS = """
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("completeness-data").textContent);
  const select = document.getElementById("pair-select");
  if (!select) { return; }
  const viewers = {
    plus: $3Dmol.createViewer("viewer-plus", {backgroundColor: "white"}),
    minus: $3Dmol.createViewer("viewer-minus", {backgroundColor: "white"}),
  };
  function xyz(member) {
    const lines = [String(member.symbols.length), ""];
    member.symbols.forEach(function (symbol, i) {
      const p = member.positions[i];
      lines.push(symbol + " " + p[0] + " " + p[1] + " " + p[2]);
    });
    return lines.join("\\n");
  }
  function show(index) {
    const members = data.structures[index];
    for (const label of ["plus", "minus"]) {
      const viewer = viewers[label];
      const member = members[label];
      viewer.clear();
      viewer.addModel(xyz(member), "xyz");
      viewer.setStyle({}, {sphere: {scale: 0.3, colorscheme: "Jmol"}});
      for (const i of member.differing) {
        const p = member.positions[i];
        viewer.addSphere({center: {x: p[0], y: p[1], z: p[2]}, radius: 0.75,
                          color: "#CC79A7", opacity: 0.6});
      }
      if (data.scopes[index] === "environment") {
        const c = member.positions[0];
        viewer.addLabel("centre", {position: {x: c[0], y: c[1], z: c[2]}, fontSize: 11,
                                   backgroundOpacity: 0.6});
      }
      viewer.zoomTo();
      viewer.rotate(-35, {x: 1, y: 0, z: 0});
      viewer.rotate(25, {x: 0, y: 1, z: 0});
      viewer.render();
    }
    select.value = String(index);
    const row = document.querySelector("tr.pair-row[data-pair='" + index + "']");
    const claim = document.getElementById("viewer-claim");
    claim.textContent = data.pairs[index] + ": " + members.plus.differing.length +
      " / " + members.minus.differing.length + " differing atoms (X+ / X-)";
    document.querySelectorAll("tr.pair-row").forEach(function (r) {
      r.classList.toggle("selected", r === row);
    });
  }
  select.addEventListener("change", function () { show(Number(select.value)); });
  document.querySelectorAll("table.heat a[data-pair]").forEach(function (link) {
    link.addEventListener("click", function () {
      const index = Number(link.dataset.pair);
      if (data.structures[index]) { show(index); }
    });
  });
  show(Number(select.value));
})();
"""
