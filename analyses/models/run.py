"""What trained models of real libraries see: verdicts layer by layer, beside the numpy networks.

Run from the repository root, in an environment with the model extras
(``pip install torch==2.13.0 'completeness[models]'``)::

    python3 analyses/models/run.py            # a few minutes on 2 cores

Reads ``analyses/models/config.json``; for each library (MACE through ``mace-torch``, SchNet
through SchNetPack) builds models with the library's own constructors at the config's
hyperparameters, one per weight seed (random initialisation), and trains one more (seed 0) for a
few Adam steps on EMT energies of random H/C clusters
(:mod:`completeness.descriptors.models.examples`). Every model is saved with ``torch.save`` and
read back by path through its adapter (:func:`completeness.descriptors.models.load_model`), so
the audit sees exactly what a user's model file gives. Writes into ``analyses/models/results/``:

* ``layers.json``: per library, state (random / trained) and layer ``T`` (the invariant
  features after interaction ``T``, the adapter's ``layer=T``), the verdict on every pair of the
  config (graph pairs with their own coordinates, environment pairs scaled as in the audit),
  each seed's verdict and margin, the training losses and the float32 noise floors;
* ``table.md``: the tables of ``docs/models.md``: each library's rows beside the rows of the
  numpy network of the same kind (read from ``analyses/networks/results/layers.json``, which
  ``analyses/networks/run.py`` writes);
* ``dtype.md``: noise floors and distances of the trained models in float64 and float32.

``docs/models.md`` is rebuilt from these files between the ``<!-- generated: NAME -->`` and
``<!-- end: NAME -->`` markers.
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
import torch

from completeness import structures
from completeness.analysis.distance import verdicts
from completeness.descriptors.models import examples, load_model

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GLYPH = {"degenerate": "x", "resolved": "o", "inconclusive": "?", "error": "!"}
BUILDERS = {"mace": examples.build_mace, "schnetpack": examples.build_schnet}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def family(verdicts_of_members: list[str]) -> str:
    """The rule of ``completeness.analysis.distance.FamilyVerdict``: resolved when some member
    resolves, degenerate when every member is degenerate."""
    if "resolved" in verdicts_of_members:
        return "resolved"
    if all(v == "error" for v in verdicts_of_members):
        return "error"
    if all(v in ("degenerate", "error") for v in verdicts_of_members):
        return "degenerate"
    return "inconclusive"


def saved_models(key: str, spec: dict, training: dict, folder: Path) -> dict:
    """``{state: [path per seed]}``: random initialisations and the trained model, saved."""
    build = BUILDERS[spec["library"]]
    out = {"random": [], "trained": []}
    for seed in spec["seeds"]:
        model = build(**spec["hypers"], seed=seed)
        path = folder / f"{key}-random-{seed}.pt"
        torch.save(model, path)
        out["random"].append(path)
    model = build(**spec["hypers"], seed=spec["seeds"][0])
    clusters = examples.emt_clusters(
        training["n_structures"], species=tuple(training["species"]), seed=training["seed"]
    )
    losses = examples.train_energies(
        model, clusters, steps=training["steps"], learning_rate=training["learning_rate"]
    )
    path = folder / f"{key}-trained.pt"
    torch.save(model, path)
    out["trained"].append(path)
    out["losses"] = losses
    return out


def layer_rows(config: dict, model_type: str, paths: list, n_layers: int) -> list[dict]:
    graph_pairs = [structures.load(name) for name in config["graph_pairs"]]
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
                    "verdict": family([v.verdict for v in each]),
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
                    cells.append(f"{GLYPH[row['verdict']]} {count}/{len(row['seed_verdicts'])}")
                lines.append(f"| {pair} | {label} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(
        "x degenerate, o resolved, ? inconclusive (the audit's rule); n/m: members that resolve "
        "the pair. Graph pairs (Gram sign-flip, k-chains) keep their coordinates (the dojo's "
        f"graph at cutoff {config['cutoff']} Å); PRL and B8 are scaled as in the audit."
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


def main() -> None:
    torch.manual_seed(0)
    config = json.loads((HERE / "config.json").read_text())
    networks = json.loads((ROOT / "analyses/networks/results/layers.json").read_text())
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    start = time.perf_counter()
    table = {"config": config, "models": {}}
    with tempfile.TemporaryDirectory() as folder:
        for key, spec in config["models"].items():
            files = saved_models(key, spec, config["training"], Path(folder))
            log(f"{key}: built, trained ({files['losses'][0]:.3g} -> {files['losses'][-1]:.3g})")
            n_layers = spec["hypers"]["n_layers"]
            library = spec["library"]
            record = {"losses": files["losses"]}
            record["describe"] = load_model(files["trained"][0], library).describe()
            record["describe"]["path"] = Path(record["describe"]["path"]).name
            for state in ("random", "trained"):
                record[state] = layer_rows(config, library, files[state], n_layers)
                log(f"{key}: {state} done")
            record["dtype"] = dtype_rows(config, library, files["trained"][0])
            table["models"][key] = record
    (results / "layers.json").write_text(json.dumps(table, indent=1) + "\n")
    table_md = render(table, networks)
    (results / "table.md").write_text(table_md)
    dtype_md = render_dtype(table)
    (results / "dtype.md").write_text(dtype_md)
    fill_docs(ROOT / "docs" / "models.md", {"table": table_md, "dtype": dtype_md})
    log(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
