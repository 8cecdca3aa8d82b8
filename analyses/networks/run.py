"""What message-passing networks see: verdicts against the number of layers, and report cards.

Run from the repository root::

    python3 analyses/networks/run.py            # about a minute

Reads ``analyses/networks/config.json`` and writes into ``analyses/networks/results/``:

* ``layers.json``: for each architecture (random-weight family, one network per weight seed) and
  each number of layers ``T``, the family verdict and every seed's verdict and margin on the
  catalog's global/message-passing pairs (Gram sign-flip, dojo k-chains k = 2..6) and on the PRL
  and B8 pairs (:func:`completeness.analysis.distance.family_verdicts`). Graph pairs keep their
  coordinates (``rescale=False``): the k-chains on the dojo's graph (``claim.wl_cutoff`` =
  5.5 Å, every bond 5 Å), the Gram clouds on their complete graph (diameter < cutoff, checked).
  Environment pairs are scaled as in the audit (farthest neighbour at 0.8 cutoff).
* ``table.md``: the tables of ``docs/networks.md`` (verdict vs layers, k-chain layers vs the
  floor(k/2) + 1 hops of Joshi et al. ICML 2023).
* ``cards.md`` / ``cards.json``: report cards (without timings, reproducible) of the Zernike
  descriptor, the power spectrum and the two networks with the audit's hyperparameters;
  ``timings.json`` the machine-dependent efficiency numbers.

``docs/networks.md`` is rebuilt from these files: the text between the ``<!-- generated: NAME
-->`` and ``<!-- end: NAME -->`` markers is replaced by ``NAME.md``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
import time
from pathlib import Path

import numpy as np

from completeness import structures
from completeness.analysis.distance import family_verdicts, layers_needed
from completeness.analysis.distance import verdicts as all_verdicts
from completeness.analysis.report import GLYPHS, catalog_pairs, report_card
from completeness.descriptors import networks
from completeness.descriptors.defaults import builtin_descriptors
from completeness.io import fill_generated

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def architecture(spec: dict, n_layers: int):
    cls = getattr(networks, spec["class"])
    return cls(**spec["hypers"], n_layers=n_layers)


def layer_table(config: dict) -> dict:
    """Family verdicts for every architecture, number of layers and pair of the config."""
    graph_pairs = [structures.load(name) for name in config["graph_pairs"]]
    environment_pairs = [structures.load(name) for name in config["environment_pairs"]]
    for pair in graph_pairs:
        cutoff = pair.claim.wl_cutoff
        if cutoff is None:  # complete graph: every distance must be inside the network's cutoff
            for member in (pair.plus, pair.minus):
                diameter = float(np.max(member.get_all_distances()))
                if diameter >= config["cutoff"]:
                    raise ValueError(f"{pair.name}: diameter {diameter} >= cutoff")
        elif cutoff != config["cutoff"]:
            raise ValueError(f"{pair.name}: claim.wl_cutoff {cutoff} != {config['cutoff']}")
    out = {"config": config, "architectures": {}}
    for key, spec in config["architectures"].items():
        rows = []
        for n_layers in range(1, config["max_layers"] + 1):
            descriptor = architecture(spec, n_layers)
            results = family_verdicts(descriptor, graph_pairs, rescale=False)
            results += family_verdicts(descriptor, environment_pairs, rescale=True)
            for family in results:
                rows.append(
                    {
                        "n_layers": n_layers,
                        "pair": family.pair,
                        "verdict": family.verdict,
                        "seeds": [int(s) for s in spec["hypers"]["seeds"]],
                        "seed_verdicts": [m.verdict for m in family.members],
                        "seed_margins": [
                            None if not np.isfinite(m.margin) else round(float(m.margin), 2)
                            for m in family.members
                        ],
                        "body_order": descriptor.body_order,
                    }
                )
            log(f"{key}: {n_layers} layers done")
        out["architectures"][key] = rows
    return out


def render(table: dict) -> str:
    config = table["config"]
    pairs = config["graph_pairs"] + config["environment_pairs"]
    layers = list(range(1, config["max_layers"] + 1))
    lines = []
    for key, rows in table["architectures"].items():
        spec = config["architectures"][key]
        hypers = ", ".join(f"{k}={v}" for k, v in spec["hypers"].items() if k != "seeds")
        n_seeds = len(spec["hypers"]["seeds"])
        lines += [
            f"**{key}** (`{spec['class']}({hypers})`, seeds {spec['hypers']['seeds']}): "
            f"family verdict and the number of the {n_seeds} seeds that resolve the pair",
            "",
            "| pair | " + " | ".join(f"T={t}" for t in layers) + " |",
            "|---|" + "---|" * len(layers),
        ]
        for pair in pairs:
            cells = []
            for t in layers:
                (row,) = [r for r in rows if r["pair"] == pair and r["n_layers"] == t]
                n_resolved = row["seed_verdicts"].count("resolved")
                cells.append(f"{GLYPHS[row['verdict']]} {n_resolved}/{n_seeds}")
            lines.append(f"| {pair} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "**Layers needed for the k-chains** (smallest T from which the family resolves the pair "
        f"for every T up to {config['max_layers']}; the dojo's graph, cutoff {config['cutoff']} Å)",
        "",
        "| k | floor(k/2)+1 (Joshi et al.) | " + " | ".join(table["architectures"]) + " |",
        "|---|---|" + "---|" * len(table["architectures"]),
    ]
    for name in config["graph_pairs"]:
        pair = structures.load(name)
        hops = pair.claim.equivariant_hops
        if hops is None:
            continue
        cells = []
        for rows in table["architectures"].values():
            needed = layers_needed(rows, name, config["max_layers"])
            cells.append("never" if needed is None else str(needed))
        lines.append(f"| {pair.params['k']} | {hops} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "x degenerate, o resolved, ? inconclusive (the audit's rule: distance against the "
        "noise floor of random rotations/permutations); family: resolved when some seed "
        "resolves, degenerate when every seed is degenerate."
    )
    return "\n".join(lines) + "\n"


def cards(config: dict) -> tuple[str, dict, dict]:
    builtin = builtin_descriptors()
    pairs = catalog_pairs()
    text, records, timings = [], {}, {}
    for key in config["cards"]:
        descriptor = builtin[key]
        results = all_verdicts(descriptor, pairs)
        card = report_card(descriptor, pairs=pairs, name=key, verdict_results=results)
        text.append(card.markdown(timings=False))
        records[key] = card.to_dict(timings=False)
        timings[key] = card.to_dict(timings=True)["timings"]
        log(f"card {key} done")
    return "\n".join(text), records, timings


def main() -> None:
    config = json.loads((HERE / "config.json").read_text())
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    start = time.perf_counter()
    table = layer_table(config)
    (results / "layers.json").write_text(json.dumps(table, indent=1) + "\n")
    table_md = render(table)
    (results / "table.md").write_text(table_md)
    cards_md, card_records, timings = cards(config)
    (results / "cards.md").write_text(cards_md)
    (results / "cards.json").write_text(json.dumps(card_records, indent=1) + "\n")
    (results / "timings.json").write_text(json.dumps(timings, indent=1) + "\n")
    fill_generated(ROOT / "docs" / "networks.md", {"table": table_md, "cards": cards_md})
    log(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
