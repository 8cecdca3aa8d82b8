"""Quirks of the peer libraries that the report card does not measure, each probed by a small
computation that states what it saw.

The report card (:func:`completeness.analysis.report.report_card`) measures six criteria on any
descriptor. Some behaviours of the libraries fall between them: a gradient option that returns
zeros, neighbour species that are silently ignored, a cutoff with a kink, an error raised where
one expects an exit. :func:`run_probes` runs every probe (through the wrappers or the libraries
themselves) and returns one record per probe; ``completeness audit --peers`` prints them next to
the cards and ``docs/peers.md`` lists them. Each probe is reproduced independently by a test in
``tests/test_wrappers_<library>.py``.

A probe whose library is not installed is reported as skipped; a probe that raises unexpectedly
is reported with the exception's message (never hidden).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["PROBES", "Probe", "run_probes"]


@dataclass(frozen=True)
class Probe:
    """One check: ``run()`` returns ``(finding: bool, evidence: str)``."""

    library: str
    descriptor: str
    check: str
    run: object


def _environment(seed=0, n=6, radius=3.0, species=(1, 8)):
    import ase

    rng = np.random.default_rng(seed)
    points = [np.zeros(3)]
    while len(points) < n + 1:
        candidate = rng.uniform(-radius, radius, 3)
        if (
            np.linalg.norm(candidate) <= radius
            and min(np.linalg.norm(candidate - p) for p in points) > 0.9
        ):
            points.append(candidate)
    numbers = [6] + [species[k % len(species)] for k in range(n)]
    return ase.Atoms(numbers=numbers, positions=np.array(points))


def _relative(a, b) -> float:
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / scale)


def _centre_finite_difference(descriptor, atoms, step=1e-5):
    """``d f / d r_centre`` as ``(3, F)``, by central differences."""
    from ...numerics import central_differences

    def values(batch):
        systems = []
        for position in batch:
            copy = atoms.copy()
            copy.positions[0] = position
            systems.append(copy)
        return descriptor.compute(systems, centers=[0]).values

    return central_differences(values, atoms.positions[0], step)


# ---- dscribe ---------------------------------------------------------------------------------


def _dscribe_attach_false():
    from dscribe.descriptors import SOAP

    from .dscribe import DscribeSOAP

    atoms = _environment(1)
    wrapper = DscribeSOAP(cutoff=4.0, n_radial=4, max_angular=3, species=[1, 6, 8])
    soap = SOAP(r_cut=4.0, n_max=4, l_max=3, sigma=0.5, species=[1, 6, 8])
    detached = soap.derivatives(atoms, centers=[0], attach=False, return_descriptor=False)
    numeric = _centre_finite_difference(wrapper, atoms)
    attached = wrapper.compute(atoms, centers=[0], gradients=True).gradients[0, 0]
    error = _relative(detached[0, 0], numeric)
    return (
        error > 1e-3,
        f"derivatives(attach=False) gives a centre row (max |.| {np.abs(detached[0, 0]).max():.2e})"
        f" that differs from the finite-difference derivative with respect to the centre atom "
        f"(max |.| {np.abs(numeric).max():.2e}) by {error:.1e} relative: the expansion centre "
        f"stays where it was; with attach=True (the wrapper) the centre row matches to "
        f"{_relative(attached, numeric):.1e}",
    )


def _dscribe_mbtr(kind):
    def probe():
        import ase
        from dscribe import descriptors

        cls = getattr(descriptors, kind)
        geometry = "inverse_distance" if kind == "MBTR" else "distance"
        obj = cls(
            species=[1, 6, 8],
            geometry={"function": geometry},
            grid={"min": 0.0, "max": 5.0, "n": 20, "sigma": 0.1},
            weighting={"function": "exp", "scale": 0.5, "threshold": 1e-3},
        )
        atoms = _environment(2)
        try:
            obj.create(atoms) if kind == "MBTR" else obj.create(atoms, centers=[0])
        except Exception as error:  # the finding is the library's own message
            return True, (
                f"create() raises {type(error).__name__}: {error} (ase {ase.__version__}; "
                "upstream SINGROUP/dscribe#165, ase >= 3.27)"
            )
        return False, f"create() works with ase {ase.__version__}"

    return probe


def _dscribe_soap_kink():
    import ase

    from .dscribe import DscribeSOAP
    from .featomic import FeatomicSoapPowerSpectrum

    base = _environment(3, n=4, radius=2.5)
    direction = np.array([0.0, 0.6, 0.8])
    jumps = {}
    for label, descriptor in (
        ("dscribe", DscribeSOAP(cutoff=4.0, n_radial=4, max_angular=3, species=[1, 6, 8])),
        (
            "featomic",
            FeatomicSoapPowerSpectrum(cutoff=4.0, n_radial=4, max_angular=3, species=[1, 6, 8]),
        ),
    ):
        if label == "featomic" and importlib.util.find_spec("featomic") is None:
            continue
        systems = [
            base + ase.Atom(1, (4.0 + sign * eps) * direction)
            for eps in (1e-3, 1e-5)
            for sign in (-1.0, 1.0)
        ]
        values = descriptor.compute(systems, centers=[0]).values
        jumps[label] = (_relative(values[0], values[1]), _relative(values[2], values[3]))
    coarse, fine = jumps["dscribe"]
    order = np.log10(coarse / fine) / 2
    text = (
        f"an atom crossing the cutoff changes the features by {coarse:.1e} (eps = 1e-3 Å) and "
        f"{fine:.1e} (1e-5 Å): order {order:.1f} in eps, continuous with a kink (no smooth "
        "cutoff unless weighting= is set)"
    )
    if "featomic" in jumps:
        f_coarse, f_fine = jumps["featomic"]
        text += f"; featomic's shifted-cosine cutoff: {f_coarse:.1e} and {f_fine:.1e}"
    return order < 1.5, text


# ---- quippy ----------------------------------------------------------------------------------


def _quippy_species_blind(peer):
    def probe():
        from . import load_peer

        atoms = _environment(4, species=(1, 8))
        swapped = atoms.copy()
        swapped.numbers = [6] + [8 if z == 1 else 1 for z in atoms.numbers[1:]]
        descriptor = load_peer(peer, species=[1, 6, 8])
        values = descriptor.compute([atoms, swapped], centers=[0]).values
        distance = _relative(values[0], values[1])
        return distance == 0.0, (
            f"swapping every neighbour's species (H <-> O) changes the features by "
            f"{distance:.1e}: the density has no species channels, neighbours of every species "
            "count alike"
        )

    return probe


def _quippy_unlisted_species():
    from .quippy import run_quippy_strings

    atoms = _environment(5, species=(1, 8))
    without = atoms[[k for k, z in enumerate(atoms.numbers) if z != 8]]
    string = "soap cutoff=4.0 l_max=3 n_max=4 atom_sigma=0.5 n_species=2 species_Z={1 6} Z=6"
    values, _ = run_quippy_strings({6: string}, [atoms, without], [[0], [0]], False, "quippy soap")
    distance = _relative(values[0], values[1])
    return distance < 1e-12, (
        f"with species_Z={{1 6}} the O neighbours are dropped without an error: the features "
        f"equal those of the environment without them to {distance:.1e} (the wrapper lists "
        "every species present, or raises InputError when species= misses one)"
    )


def _quippy_help():
    from ._runner import PeerCrash, PeerError, run_isolated

    worker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_quippy_worker.py")
    try:
        run_isolated(worker, "initialise", {"string": "soap --help"}, label="quippy soap --help")
    except PeerError as error:
        return True, f"Descriptor('soap --help') prints the help, then {error}"
    except PeerCrash as error:
        return True, f"Descriptor('soap --help') ends the process: {error}"
    return False, "Descriptor('soap --help') returned normally"


# ---- featomic --------------------------------------------------------------------------------


def _featomic_no_gradients():
    from .featomic import FeatomicDensityCorrelations

    try:
        FeatomicDensityCorrelations(cutoff=4.0).compute(_environment(6), gradients=True)
    except Exception as error:  # the finding is the library's own message
        return True, f"gradients=True raises {type(error).__name__}: {error}"
    return False, "gradients are computed"


PROBES = (
    Probe(
        "featomic",
        "featomic:DensityCorrelations",
        "position gradients",
        _featomic_no_gradients,
    ),
    Probe("dscribe", "dscribe:SOAP", "derivatives(attach=False)", _dscribe_attach_false),
    Probe("dscribe", "dscribe:SOAP", "smoothness at the cutoff", _dscribe_soap_kink),
    Probe("dscribe", "dscribe:MBTR", "runs with the installed ase", _dscribe_mbtr("MBTR")),
    Probe("dscribe", "dscribe:LMBTR", "runs with the installed ase", _dscribe_mbtr("LMBTR")),
    Probe("quippy", "quippy:soap", "a bad descriptor string", _quippy_help),
    Probe("quippy", "quippy:soap", "species missing from species_Z", _quippy_unlisted_species),
    Probe(
        "quippy",
        "quippy:power_so3",
        "neighbour species",
        _quippy_species_blind("quippy:power_so3"),
    ),
    Probe(
        "quippy",
        "quippy:bispectrum_so3",
        "neighbour species",
        _quippy_species_blind("quippy:bispectrum_so3"),
    ),
    Probe(
        "quippy",
        "quippy:bispectrum_so4",
        "neighbour species",
        _quippy_species_blind("quippy:bispectrum_so4"),
    ),
)


def run_probes(libraries=None) -> list[dict]:
    """Run every probe (of ``libraries`` when given); one JSON-ready record per probe:
    ``library, descriptor, check, status ("finding" | "no finding" | "skipped" | "error"),
    evidence``."""
    from ._runner import clean_line

    records = []
    for probe in PROBES:
        if libraries is not None and probe.library not in libraries:
            continue
        record = {"library": probe.library, "descriptor": probe.descriptor, "check": probe.check}
        if importlib.util.find_spec(probe.library) is None:
            record.update(status="skipped", evidence=f"{probe.library} is not installed")
        else:
            try:
                finding, evidence = probe.run()
                record.update(status="finding" if finding else "no finding", evidence=evidence)
            except Exception as error:  # a failing probe is reported, never hidden
                record.update(status="error", evidence=f"{type(error).__name__}: {error}")
        record["evidence"] = clean_line(record["evidence"])
        records.append(record)
    return records
