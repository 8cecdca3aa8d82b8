"""Datasets for chemiscope (https://chemiscope.org; the ``chemiscope`` extra): audited pairs,
search hits and discovered pairs, with their numbers as properties.

Every dataset has one structure per pair member (or per environment of a search hit), so the
map of the chemiscope viewer places the two members of a pair side by side:

* :func:`audit_dataset` -- both members of every audited pair; properties: pair, member, scope,
  the oracle's O(3)/SO(3) orders, and per descriptor its verdict, its distance and noise floor on
  the pair, and the first two principal components of its features of the member's centre
  (atom 0) over the dataset;
* :func:`search_dataset` -- both environments of every search hit (centre at the origin);
  properties: rank, structure, centre element, feature and structural distance, score above
  typical, whether it stands out;
* :func:`discovery_dataset` -- both members of every discovered pair; properties: kind, the
  oracle's orders, distance and floor, family dimension.

:func:`write_dataset` writes the JSON (gzip-compressed when the name ends in ``.gz``) atomically.
"""

from __future__ import annotations

import gzip
import json
import math

import numpy as np

from .errors import InputError

__all__ = [
    "audit_dataset",
    "dataset_bytes",
    "discovery_dataset",
    "require_chemiscope",
    "search_dataset",
    "write_dataset",
]


def require_chemiscope():
    """The chemiscope module, or InputError saying how to install it (call before computing)."""
    try:
        import chemiscope
    except ImportError:
        raise InputError(
            "--chemiscope needs the chemiscope package: pip install 'completeness[chemiscope]'"
        ) from None
    return chemiscope


def _finite(values) -> list:
    """Numbers for a JSON property (NaN and infinities have no JSON form: None)."""
    return [float(v) if v is not None and math.isfinite(float(v)) else None for v in values]


def _property(values, description: str, units: str | None = None) -> dict:
    values = list(values)
    if values and not isinstance(values[0], str):
        values = _finite(values)
        if any(v is None for v in values):
            # chemiscope's numeric properties must be numbers: name the gap instead
            values = ["n/a" if v is None else f"{v:.6g}" for v in values]
    out = {"target": "structure", "values": values, "description": description}
    if units:
        out["units"] = units
    return out


def _principal_components(features: np.ndarray, n: int = 2) -> np.ndarray:
    centred = features - features.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = centred @ vt[:n].T
    if components.shape[1] < n:
        components = np.pad(components, ((0, 0), (0, n - components.shape[1])))
    return components


def audit_dataset(audit) -> dict:
    """The chemiscope input of an :class:`~completeness.analysis.report.Audit`."""
    frames, pair_names, members, scopes, o3, so3 = [], [], [], [], [], []
    for pair in audit.pairs:
        for label, atoms in (("X+", pair.plus), ("X-", pair.minus)):
            frames.append(atoms.copy())
            pair_names.append(pair.name)
            members.append(label)
            scopes.append(getattr(pair.claim, "scope", "environment"))
            o3.append(int(pair.claim.equal_up_to_o3))
            so3.append(int(pair.claim.equal_up_to_so3))
    properties = {
        "pair": _property(pair_names, "catalog name of the pair"),
        "member": _property(members, "which member of the pair"),
        "scope": _property(scopes, "environment (centre = atom 0) or whole structure"),
        "O3 equal up to": _property(o3, "highest body order of equal O(3) signatures (oracle)"),
        "SO3 equal up to": _property(so3, "highest body order of equal SO(3) signatures"),
    }
    notes = []
    for name, user in audit.descriptors.items():
        results = [v for v in audit.verdicts[name] for _ in range(2)]
        properties[f"{name}: verdict"] = _property(
            [r.verdict for r in results], f"verdict of {name} on the pair"
        )
        properties[f"{name}: distance"] = _property(
            [r.distance for r in results], f"relative feature distance of the members ({name})"
        )
        properties[f"{name}: noise floor"] = _property(
            [r.noise_floor for r in results], f"noise floor of {name} on the pair"
        )
        try:
            features = user.compute(frames, centers=[0]).values
        except Exception as error:  # a descriptor that cannot compute here: said in the notes
            notes.append(f"{name}: no features ({type(error).__name__}: {error})")
            continue
        components = _principal_components(np.asarray(features, dtype=float))
        for k in range(2):
            properties[f"{name}: PC{k + 1}"] = _property(
                components[:, k], f"principal component {k + 1} of {name}'s centre features"
            )
    description = (
        f"completeness audit: {len(audit.descriptors)} descriptor(s) x {len(audit.pairs)} "
        "pair(s); both members of every pair, one structure each."
    )
    if notes:
        description += " " + "; ".join(notes)
    return {
        "structures": frames,
        "properties": properties,
        "metadata": {"name": "completeness audit", "description": description},
    }


def search_dataset(result, systems, records: list[dict]) -> dict:
    """The chemiscope input of a search's hits (records of
    :func:`completeness.analysis.search_report.hits`)."""
    from .analysis.search_report import hit_environments

    frames = hit_environments(result, systems, records)
    keys = {
        "rank": ("rank", "rank of the pair (best score first)", None),
        "structure": ("structure", "structure name (info['name'] or file:frame)", None),
        "centre": ("centre", "index of the centre in its structure", None),
        "element": ("element", "element of the centre", None),
        "feature distance": ("feature_distance", "relative feature distance d", None),
        "structural distance": ("structural_distance", "RMSD after alignment, D", "Å"),
        "x typical": ("times_typical", "score D/d over the typical score", None),
        "stands out": ("stands_out", "an outlier by the robust 3-sigma rule", None),
    }
    properties = {}
    for label, (key, description, units) in keys.items():
        values = [frame.info[key] for frame in frames]
        if isinstance(values[0], (bool, np.bool_)):
            values = ["yes" if v else "no" for v in values]
        properties[label] = _property(values, description, units)
    return {
        "structures": frames,
        "properties": properties,
        "metadata": {
            "name": f"completeness search: {result.descriptor}",
            "description": "both environments (centre = atom 0) of every reported pair",
        },
    }


def discovery_dataset(result) -> dict:
    """The chemiscope input of a :func:`completeness.analysis.discovery.discover` result."""
    frames, rows = [], []
    for found in result.pairs:
        for label, atoms in (("X+", found.pair.plus), ("X-", found.pair.minus)):
            frames.append(atoms.copy())
            rows.append((found, label))
    if not frames:
        raise InputError("discover found no pair: nothing to write for --chemiscope")
    columns = {
        "pair": ([f.pair.name for f, _ in rows], "name of the discovered pair", None),
        "member": ([label for _, label in rows], "which member", None),
        "kind": ([f.kind for f, _ in rows], "the oracle's classification", None),
        "O3 equal up to": ([f.order.o3 for f, _ in rows], "oracle, O(3)", None),
        "SO3 equal up to": ([f.order.so3 for f, _ in rows], "oracle, SO(3)", None),
        "distance": ([f.candidate.distance for f, _ in rows], "relative feature distance", None),
        "noise floor": ([f.candidate.floor for f, _ in rows], "noise floor", None),
        "family dimension": ([f.family.dimension for f, _ in rows], "degenerate family", None),
    }
    return {
        "structures": frames,
        "properties": {k: _property(v, d, u) for k, (v, d, u) in columns.items()},
        "metadata": {
            "name": f"completeness discover: {result.descriptor}",
            "description": "both members of every discovered degenerate pair",
        },
    }


def write_dataset(path, dataset: dict) -> None:
    """Write ``dataset`` (from one of the functions above) as a chemiscope JSON file."""
    from .io import write_bytes

    write_bytes(path, dataset_bytes(path, dataset))


def dataset_bytes(path, dataset: dict) -> bytes:
    """The chemiscope JSON of ``dataset``, gzip-compressed when ``path`` ends in ``.gz``."""
    chemiscope = require_chemiscope()
    data = chemiscope.create_input(
        structures=dataset["structures"],
        properties=dataset["properties"],
        metadata=dataset["metadata"],
    )
    text = json.dumps(data).encode("utf-8")
    if str(path).endswith(".gz"):
        text = gzip.compress(text, mtime=0)
    return text
