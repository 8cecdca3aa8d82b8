"""quippy (QUIP/GAP, Fortran; https://github.com/libAtoms/QUIP) behind the package's API.

Four descriptors: :class:`QuippySoap` (the GAP SOAP power spectrum, 3-body),
:class:`QuippyPowerSO3` (3-body), :class:`QuippyBispectrumSO3` (4-body) and
:class:`QuippyBispectrumSO4` (the SNAP-like 4D bispectrum, 4-body).

quippy runs in a child process (:mod:`._runner`), never in the caller's: its Fortran code keeps
global state between calls, and a fatal error in compiled code (a Fortran stop, an abort, a
segmentation fault) would end the user's session or the whole audit. What a child does is
reported with quippy's own words: an exception raised
there comes back as :class:`~._runner.PeerError` (type, message and quippy's Fortran traceback),
an exit or a signal as :class:`~._runner.PeerCrash` (with stderr). Measured here (quippy-ase
0.10.3): ``Descriptor("soap --help")`` prints the help and raises ``RuntimeError: ...
soap_initialise failed to parse args_str='soap --help'``; it does not end the process in this
version (docs/science.md §6 reported that it does). One child per :meth:`compute` call (every system
of the call in one child), so each call pays quippy's start-up (about half a second): the
audit's efficiency numbers for quippy include it.

Translation table (ours = quippy descriptor string)::

    cutoff=5.0             cutoff=5.0
    cutoff_width=0.5       cutoff_transition_width=0.5   (soap only)
    n_radial=8             n_max=8            (a count, like ours)
    max_angular=6          l_max=6            (soap, power_so3, bispectrum_so3)
    max_angular=4          j_max=4            (bispectrum_so4: quippy's 4D angular index)
    density_width=0.5      atom_sigma=0.5     (soap only; the SO(3) descriptors use quippy's
                                               own fixed radial functions)
    normalise=True         normalise=T        (soap: unit-length vectors, quippy's default)
    species=[1, 6]         n_species=2 species_Z={1 6}   (soap only: the SO(3)/SO(4)
                                               descriptors have no species channels)
    centres                Z=<centre species> (one Descriptor per centre species; the rows of
                                               the requested centres are picked by quippy's ``ci``)

Gradients: quippy's ``grad_data`` (derivative of each centre's vector with respect to every atom
within the cutoff, the centre included), scattered to ``(n_samples, n_atoms, 3, n_features)``.

References: Bartók, Kondor, Csányi, Phys. Rev. B 87, 184115 (2013),
doi:10.1103/PhysRevB.87.184115 (soap, power_so3, bispectrum_so3/so4); Bartók et al., Phys. Rev.
Lett. 104, 136403 (2010), doi:10.1103/PhysRevLett.104.136403 (GAP, bispectrum_so4).
"""

from __future__ import annotations

import os

import numpy as np

from ..hypers import Boolean, declare
from ._base import PeerDescriptor
from ._runner import run_isolated

__all__ = ["QuippyBispectrumSO3", "QuippyBispectrumSO4", "QuippyPowerSO3", "QuippySoap"]

_WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_quippy_worker.py")


def run_quippy_strings(descriptor_strings: dict, systems, centres, gradients: bool, label: str):
    """Run quippy on ``systems`` in a child process (see :func:`._runner.run_isolated`).

    ``descriptor_strings[z]`` is quippy's descriptor string for centres of species ``z``.
    Returns ``(values, gradients or None)``.
    """
    packed = [
        {
            "numbers": np.asarray(atoms.numbers, dtype=np.int64),
            "positions": np.asarray(atoms.positions, dtype=np.float64),
            "cell": np.asarray(atoms.cell.array, dtype=np.float64),
            "pbc": np.asarray(atoms.pbc, dtype=bool),
        }
        for atoms in systems
    ]
    out = run_isolated(
        _WORKER,
        "calc",
        {
            "descriptor_strings": {int(z): s for z, s in descriptor_strings.items()},
            "systems": packed,
            "centres": [np.asarray(c, dtype=np.int64) for c in centres],
            "gradients": bool(gradients),
            "n_features_string": next(iter(descriptor_strings.values())),
        },
        label=label,
    )
    return out["values"], (out["gradients"] if gradients else None)


class _Quippy(PeerDescriptor):
    library = "quippy"

    def quippy_options(self, species) -> dict:
        """quippy's options of this descriptor besides ``cutoff`` and ``Z`` (the centre)."""
        raise NotImplementedError

    def descriptor_string(self, centre_species: int, species) -> str:
        """quippy's descriptor string for centres of species ``centre_species``."""
        options = {
            "cutoff": float(self.cutoff),
            **self.quippy_options(species),
            "Z": int(centre_species),
        }
        return " ".join([self.peer_name, *(f"{key}={value}" for key, value in options.items())])

    def _peer_compute(self, systems, centres, species, gradients):
        centre_species = sorted(
            {int(atoms.numbers[c]) for atoms, cs in zip(systems, centres, strict=True) for c in cs}
        ) or [int(species[0])]
        strings = {z: self.descriptor_string(z, species) for z in centre_species}
        values, grads = run_quippy_strings(
            strings, systems, centres, gradients, label=f"quippy {self.peer_name}"
        )
        names = [f"quippy_{self.peer_name}_{k}" for k in range(values.shape[1])]
        return values, grads, names


class QuippySoap(_Quippy):
    """quippy's ``soap``: the GAP SOAP power spectrum (module doc: translation table).

    ``p^{ab}_{n n' l} ~ sum_m c^a_{nlm} c^b_{n'lm}``, normalised to unit length by default, with
    the centre's own density (``central_weight=1``) and a smooth cosine cutoff.
    """

    peer_name = "soap"
    body_order = 3
    parity = "O(3)"
    hyper_constraints = declare(normalise=Boolean())

    def __init__(
        self,
        *,
        cutoff: float = 5.0,
        n_radial: int = 6,
        max_angular: int = 4,
        density_width: float = 0.5,
        cutoff_width: float = 0.5,
        normalise: bool = True,
        species=None,
    ):
        self.cutoff = cutoff
        self.n_radial = n_radial
        self.max_angular = max_angular
        self.density_width = density_width
        self.cutoff_width = cutoff_width
        self.normalise = normalise
        self.species = species

    def quippy_options(self, species):
        return {
            "cutoff_transition_width": float(self.cutoff_width),
            "l_max": int(self.max_angular),
            "n_max": int(self.n_radial),
            "atom_sigma": float(self.density_width),
            "normalise": "T" if self.normalise else "F",
            "n_species": len(species),
            "species_Z": "{" + " ".join(str(int(z)) for z in species) + "}",
        }


class _QuippySO3(_Quippy):
    def __init__(
        self, *, cutoff: float = 5.0, n_radial: int = 6, max_angular: int = 4, species=None
    ):
        self.cutoff = cutoff
        self.n_radial = n_radial
        self.max_angular = max_angular
        self.species = species

    def quippy_options(self, species):
        return {"l_max": int(self.max_angular), "n_max": int(self.n_radial)}


class QuippyPowerSO3(_QuippySO3):
    """quippy's ``power_so3``: the SO(3) power spectrum ``sum_m c_{nlm} c_{n'lm}`` with quippy's
    own radial functions, all neighbour species in one density (module doc)."""

    peer_name = "power_so3"
    body_order = 3
    parity = "O(3)"


class QuippyBispectrumSO3(_QuippySO3):
    """quippy's ``bispectrum_so3``: ``sum C^{l m}_{l1 m1 l2 m2} c_{n l1 m1} c_{n l2 m2}
    c*_{n l m}`` (module doc). Only the terms quippy keeps (real, O(3)-even)."""

    peer_name = "bispectrum_so3"
    body_order = 4
    parity = "O(3)"


class QuippyBispectrumSO4(_Quippy):
    """quippy's ``bispectrum_so4``: the bispectrum of the density mapped onto the 4D sphere
    (hyperspherical harmonics up to ``j_max = max_angular``), Bartók et al. 2010 (module doc).
    """

    peer_name = "bispectrum_so4"
    body_order = 4
    parity = "O(3)"

    def __init__(self, *, cutoff: float = 5.0, max_angular: int = 4, species=None):
        self.cutoff = cutoff
        self.max_angular = max_angular
        self.species = species

    def quippy_options(self, species):
        return {"j_max": int(self.max_angular)}
