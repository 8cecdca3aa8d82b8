"""What trained models of real libraries see: verdicts layer by layer, beside the numpy networks.

Run from the repository root, in an environment with the model extras
(``pip install torch==2.13.0 'completeness[models]'``)::

    python3 analyses/models/run.py                 # every model; ~20 minutes on 2 busy cores
    python3 analyses/models/run.py --only NequIP   # one model (config key); the rest as saved
    python3 analyses/models/run.py --render        # tables and pages from results/layers.json

Reads ``analyses/models/config.json``; for each library (MACE through ``mace-torch``, NequIP
through ``nequip``, SchNet through SchNetPack) builds models with the library's own
constructors at the config's hyperparameters, one per weight seed (random initialisation), and
trains one more (seed 0) for a few Adam steps on EMT energies of random H/C clusters
(:mod:`completeness.descriptors.models.examples`). Every model is saved as its users hold it
(``torch.save``; nequip's deployed TorchScript file for NequIP) and read back by path through
its adapter (:func:`completeness.descriptors.models.load_model`), so the audit sees exactly what
a user's model file gives. Writes into ``analyses/models/results/``:

* ``layers.json``: per library, state (random / trained) and layer ``T`` (the invariant
  features after interaction ``T``, the adapter's ``layer=T``), the verdict on every pair of the
  config (graph pairs with their own coordinates, environment pairs scaled as in the audit),
  each seed's verdict and margin, the training losses and the float32 noise floors;
* ``table.md``: the tables of ``docs/models.md``: each library's rows beside the rows of the
  numpy network of the same kind (read from ``analyses/networks/results/layers.json``, which
  ``analyses/networks/run.py`` writes);
* ``dtype.md``: noise floors and distances of the trained models in float64 and float32;
* ``summary.md``: the number of layers each model needs for each pair, beside the numpy
  networks.

``docs/models.md`` and ``analyses/models/summary.md`` are rebuilt from these files between the
``<!-- generated: NAME -->`` and ``<!-- end: NAME -->`` markers (``--render`` needs no torch).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from completeness import structures
from completeness.analysis.distance import family_verdict, layers_needed, verdicts
from completeness.analysis.report import GLYPHS
from completeness.descriptors.models import examples, load_model

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BUILDERS = {
    "mace": examples.build_mace,
    "schnetpack": examples.build_schnet,
    "nequip": examples.build_nequip,
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def saved_models(key: str, spec: dict, training: dict, folder: Path) -> dict:
    """``{state: [path per seed]}``: random initialisations and the trained model, saved."""
    build = BUILDERS[spec["library"]]
    out = {"random": [], "trained": []}
    for seed in spec["seeds"]:
        model = build(**spec["hypers"], seed=seed)
        path = folder / f"{key}-random-{seed}.pt"
        examples.save_model(model, path)
        out["random"].append(path)
    model = build(**spec["hypers"], seed=spec["seeds"][0])
    clusters = examples.emt_clusters(
        training["n_structures"], species=tuple(training["species"]), seed=training["seed"]
    )
    losses = examples.train_energies(
        model, clusters, steps=training["steps"], learning_rate=training["learning_rate"]
    )
    path = folder / f"{key}-trained.pt"
    examples.save_model(model, path)
    out["trained"].append(path)
    out["losses"] = losses
    return out


def check_graphs(graph_pairs, cutoff: float) -> None:
    """The model's cutoff must give each graph pair the graph its claim is about: the complete
    graph (diameter below the cutoff) or the dojo's graph at ``claim.wl_cutoff`` (no distance
    between ``wl_cutoff`` and the model's cutoff)."""
    for pair in graph_pairs:
        for member in (pair.plus, pair.minus):
            distances = member.get_all_distances()[np.triu_indices(len(member), 1)]
            low = pair.claim.wl_cutoff
            if low is None and distances.max() >= cutoff:
                raise ValueError(f"{pair.name}: diameter {distances.max()} >= cutoff {cutoff}")
            if low is not None and np.any((distances >= low) & (distances < cutoff)):
                raise ValueError(f"{pair.name}: cutoff {cutoff} changes the graph of {low} Å")


def layer_rows(config: dict, model_type: str, paths: list, hypers: dict) -> list[dict]:
    n_layers = hypers["n_layers"]
    graph_pairs = [structures.load(name) for name in config["graph_pairs"]]
    check_graphs(graph_pairs, hypers["cutoff"])
    environment_pairs = [structures.load(name) for name in config["environment_pairs"]]
    rows = []
    for layer in range(1, n_layers + 1):
        members = []
        for path in paths:
            adapter = load_model(path, model_type, layer=layer)
            results = verdicts(adapter, graph_pairs, rescale=False)
            results += verdicts(adapter, environment_pairs, rescale=True)
            members.append(results)
        for index, pair in enumerate(graph_pairs + environment_pairs):
            each = [results[index] for results in members]
            rows.append(
                {
                    "n_layers": layer,
                    "pair": pair.name,
                    "verdict": family_verdict([v.verdict for v in each]),
                    "seed_verdicts": [v.verdict for v in each],
                    "seed_margins": [
                        None if not np.isfinite(v.margin) else round(float(v.margin), 2)
                        for v in each
                    ],
                    "body_order": each[0].body_order,
                }
            )
    return rows


def dtype_rows(config: dict, model_type: str, path) -> list[dict]:
    """Distance and noise floor of the trained model (every layer) in float64 and float32."""
    out = []
    for name in config["environment_pairs"]:
        pair = structures.load(name)
        row = {"pair": name}
        for dtype in ("float64", "float32"):
            (v,) = verdicts(load_model(path, model_type, dtype=dtype), [pair])
            row[dtype] = {
                "distance": v.distance,
                "noise_floor": v.noise_floor,
                "verdict": v.verdict,
            }
        out.append(row)
    return out


def render(table: dict, networks: dict) -> str:
    config = table["config"]
    pairs = config["graph_pairs"] + config["environment_pairs"]
    lines = []
    for key, spec in config["models"].items():
        layers = list(range(1, spec["hypers"]["n_layers"] + 1))
        hypers = ", ".join(f"{k}={v}" for k, v in spec["hypers"].items())
        reference = spec["numpy_network"]
        lines += [
            f"**{key}** (`{spec['library']}`, `{BUILDERS[spec['library']].__name__}({hypers})`): "
            f"random initialisation (seeds {spec['seeds']}: family verdict and the number of "
            f"seeds that resolve), trained ({config['training']['steps']} Adam steps on EMT "
            f"energies), and the numpy network `{reference}` "
            "(`analyses/networks/`)",
            "",
            "| pair | model | " + " | ".join(f"T={t}" for t in layers) + " |",
            "|---|---|" + "---|" * len(layers),
        ]
        numpy_rows = networks["architectures"][reference]
        for pair in pairs:
            for label, rows in (
                ("random", table["models"][key]["random"]),
                ("trained", table["models"][key]["trained"]),
                ("numpy", numpy_rows),
            ):
                cells = []
                for t in layers:
                    (row,) = [r for r in rows if r["pair"] == pair and r["n_layers"] == t]
                    count = row["seed_verdicts"].count("resolved")
                    cells.append(f"{GLYPHS[row['verdict']]} {count}/{len(row['seed_verdicts'])}")
                lines.append(f"| {pair} | {label} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(
        "x degenerate, o resolved, ? inconclusive (the audit's rule); n/m: members that resolve "
        "the pair. Graph pairs (Gram sign-flip, k-chains) keep their coordinates: every k-chain "
        "distance is 5 Å or 8.94 Å, so any cutoff between gives the dojo's graph (checked); PRL "
        "and B8 are scaled as in the audit (farthest neighbour at 0.8 cutoff)."
    )
    return "\n".join(lines) + "\n"


def render_summary(table: dict, networks: dict) -> str:
    """One row per pair: the layers each model needs, beside the numpy networks."""
    config = table["config"]
    max_layers = min(spec["hypers"]["n_layers"] for spec in config["models"].values())
    columns = []
    for key, record in table["models"].items():
        columns += [(f"{key} random", record["random"]), (f"{key} trained", record["trained"])]
    for reference in dict.fromkeys(spec["numpy_network"] for spec in config["models"].values()):
        columns.append((f"numpy {reference}", networks["architectures"][reference]))
    lines = [
        "| pair | " + " | ".join(name for name, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for pair in config["graph_pairs"] + config["environment_pairs"]:
        cells = [str(layers_needed(rows, pair, max_layers) or "never") for _, rows in columns]
        lines.append(f"| {pair} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"Smallest number of layers T from which the pair is resolved at every T up to "
        f"{max_layers} (family verdict over the seeds; 'never': not within {max_layers})."
    )
    return "\n".join(lines) + "\n"


def render_dtype(table: dict) -> str:
    lines = [
        "| model | pair | distance float64 | floor float64 | distance float32 | floor float32 "
        "| verdict float64 / float32 |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, record in table["models"].items():
        for row in record["dtype"]:
            a, b = row["float64"], row["float32"]
            lines.append(
                f"| {key} | {row['pair']} | {a['distance']:.2e} | {a['noise_floor']:.1e} | "
                f"{b['distance']:.2e} | {b['noise_floor']:.1e} | {a['verdict']} / {b['verdict']} |"
            )
    return "\n".join(lines) + "\n"


def fill_docs(path: Path, sections: dict) -> None:
    text = path.read_text()
    for name, body in sections.items():
        pattern = re.compile(
            rf"(<!-- generated: {name} -->\n).*?(<!-- end: {name} -->)", flags=re.DOTALL
        )
        if not pattern.search(text):
            raise ValueError(f"{path} has no markers for {name}")
        text = pattern.sub(lambda m, b=body: m.group(1) + b + m.group(2), text)
    path.write_text(text)


def render_all(table: dict) -> None:
    """Write the tables and fill ``docs/models.md`` and ``summary.md`` from ``table``."""
    networks = json.loads((ROOT / "analyses/networks/results/layers.json").read_text())
    results = HERE / "results"
    sections = {
        "table": render(table, networks),
        "dtype": render_dtype(table),
        "summary": render_summary(table, networks),
    }
    for name, text in sections.items():
        (results / f"{name}.md").write_text(text)
    fill_docs(ROOT / "docs" / "models.md", sections)
    fill_docs(HERE / "summary.md", {"summary": sections["summary"], "dtype": sections["dtype"]})


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--render", action="store_true", help="tables and pages from results/layers.json only"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="MODEL",
        help="recompute these models of config.json, keep the others' saved results",
    )
    args = parser.parse_args()
    results = HERE / "results"
    if args.render:
        render_all(json.loads((results / "layers.json").read_text()))
        return
    config = json.loads((HERE / "config.json").read_text())
    unknown = sorted(set(args.only or []) - set(config["models"]))
    if unknown:
        parser.error(f"--only: {unknown} not among the models of config.json")
    results.mkdir(exist_ok=True)
    start = time.perf_counter()
    saved = {}
    if args.only:
        saved = json.loads((results / "layers.json").read_text())["models"]
    table = {"config": config, "models": {}}
    with tempfile.TemporaryDirectory() as folder:
        for key, spec in config["models"].items():
            if args.only and key not in args.only:
                table["models"][key] = saved[key]
                continue
            files = saved_models(key, spec, config["training"], Path(folder))
            log(f"{key}: built, trained ({files['losses'][0]:.3g} -> {files['losses'][-1]:.3g})")
            library = spec["library"]
            record = {"losses": files["losses"]}
            record["describe"] = load_model(files["trained"][0], library).describe()
            record["describe"]["path"] = Path(record["describe"]["path"]).name
            for state in ("random", "trained"):
                record[state] = layer_rows(config, library, files[state], spec["hypers"])
                log(f"{key}: {state} done")
            record["dtype"] = dtype_rows(config, library, files["trained"][0])
            table["models"][key] = record
    (results / "layers.json").write_text(json.dumps(table, indent=1) + "\n")
    render_all(table)
    log(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
