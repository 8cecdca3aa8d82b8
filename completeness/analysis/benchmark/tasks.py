"""Learning tasks of the representation benchmark, generated at run time (nothing downloaded).

Two tasks, both labelled by ase's effective-medium-theory calculator (:class:`ase.calculators.emt.
EMT`; Jacobsen, Stoltze & Nørskov, Surf. Sci. 366, 394 (1996)), which gives energies and forces
of a smooth many-body potential in milliseconds:

- ``"alloy"``: random Cu/Ag/Au alloys on fcc (32-atom cubic supercell) or bcc (16 atoms)
  lattices, random composition, a random isotropic strain of up to ±3 %, then a short Langevin
  run at 600–1200 K from a rattled start; one snapshot per trajectory.
- ``"molecules"``: the molecules of ase's G2 collection (Curtiss et al., J. Chem. Phys. 106,
  1063 (1997)) made only of H, C, N and O, each snapshot a random molecule with every atom
  displaced by a Gaussian of 0.02–0.08 Å. EMT's parameters for H, C, N and O are not fitted to
  chemistry; the task tests how well a representation interpolates a smooth many-body function
  of molecular geometry, not chemical accuracy.

No data set shipped inside a registry package fits a learning curve here: ase's S22 collection
carries 22 interaction energies (too few for a curve), and the data sets of the field (QM9, MD17,
the B8 set) are downloaded by their loaders, which this project does not do at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import ase
import numpy as np

from ...environments import InputError

__all__ = ["TASKS", "Task", "alloy_task", "make_task", "molecule_task"]

# ase's EMT equilibrium fcc lattice constants (Å) for the three noble metals
_FCC_LATTICE = {"Cu": 3.61, "Ag": 4.09, "Au": 4.08}
_ORGANIC = frozenset("HCNO")


@dataclass(frozen=True, eq=False)
class Task:
    """Structures with their energies (eV) and forces (eV/Å), and what made them."""

    name: str
    systems: list
    energies: np.ndarray
    forces: list
    description: str

    @property
    def species(self) -> list[int]:
        """Every atomic number of the task, sorted: the descriptors' fixed species channels."""
        return sorted({int(z) for atoms in self.systems for z in atoms.numbers})

    @property
    def n_atoms(self) -> np.ndarray:
        return np.array([len(atoms) for atoms in self.systems])


def _labelled(name: str, systems: list, description: str) -> Task:
    """The task of ``systems`` with their EMT energies and forces (no calculator left attached)."""
    from ase.calculators.emt import EMT

    energies, forces = [], []
    for atoms in systems:
        atoms.calc = EMT()
        energies.append(float(atoms.get_potential_energy()))
        forces.append(np.array(atoms.get_forces(), dtype=np.float64))
        atoms.calc = None
    return Task(name, systems, np.array(energies), forces, description)


def _alloy_structure(rng: np.random.Generator, md_steps: int) -> ase.Atoms:
    from ase import units
    from ase.build import bulk
    from ase.md.langevin import Langevin

    elements = list(_FCC_LATTICE)
    fractions = rng.dirichlet(np.ones(len(elements)))
    mean_fcc = sum(f * _FCC_LATTICE[e] for f, e in zip(fractions, elements, strict=True))
    strain = rng.uniform(0.97, 1.03)
    if rng.random() < 0.5:
        atoms = bulk("Cu", "fcc", a=mean_fcc * strain, cubic=True).repeat((2, 2, 2))
    else:  # same volume per atom: a_bcc^3 / 2 = a_fcc^3 / 4
        atoms = bulk("Cu", "bcc", a=mean_fcc * strain * 0.5 ** (1 / 3), cubic=True)
        atoms = atoms.repeat((2, 2, 2))
    atoms.set_chemical_symbols(rng.choice(elements, size=len(atoms), p=fractions).tolist())
    atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    if md_steps:
        from ase.calculators.emt import EMT

        temperature = rng.uniform(600.0, 1200.0)
        atoms.calc = EMT()
        # Maxwell-Boltzmann momenta drawn here (ase renamed its helper between releases)
        masses = atoms.get_masses()[:, None]
        kinetic = units.kB * temperature
        atoms.set_momenta(rng.normal(size=atoms.positions.shape) * np.sqrt(masses * kinetic))
        dynamics = Langevin(
            atoms,
            2.0 * units.fs,
            temperature_K=temperature,
            friction=0.02,
            fixcm=False,
            rng=rng,
        )
        dynamics.run(md_steps)
        atoms.calc = None
        atoms.set_velocities(np.zeros_like(atoms.positions))
    return atoms


def alloy_task(n_structures: int = 400, *, seed: int = 0, md_steps: int = 20) -> Task:
    """Random Cu/Ag/Au fcc and bcc alloy snapshots with EMT energies and forces."""
    rng = np.random.default_rng(seed)
    systems = [_alloy_structure(rng, md_steps) for _ in range(n_structures)]
    return _labelled(
        "alloy",
        systems,
        f"{n_structures} Cu/Ag/Au fcc (32 atoms) and bcc (16 atoms) alloy snapshots, "
        f"{md_steps} Langevin steps of 2 fs at 600-1200 K, EMT labels (seed {seed})",
    )


def _organic_molecules() -> list[ase.Atoms]:
    from ase.collections import g2

    molecules = []
    for name in sorted(g2.names):
        atoms = g2[name]
        if len(atoms) >= 2 and set(atoms.get_chemical_symbols()) <= _ORGANIC:
            atoms.info["name"] = name
            molecules.append(atoms)
    return molecules


def molecule_task(n_structures: int = 400, *, seed: int = 0) -> Task:
    """Rattled G2 molecules made of H, C, N and O, with EMT energies and forces."""
    rng = np.random.default_rng(seed)
    molecules = _organic_molecules()
    systems = []
    for index in rng.integers(len(molecules), size=n_structures):
        atoms = molecules[index].copy()
        atoms.positions += rng.normal(scale=rng.uniform(0.02, 0.08), size=atoms.positions.shape)
        systems.append(atoms)
    return _labelled(
        "molecules",
        systems,
        f"{n_structures} rattled conformers (0.02-0.08 Å) of the {len(molecules)} H/C/N/O "
        f"molecules of ase's G2 collection, EMT labels (seed {seed})",
    )


TASKS = {"alloy": alloy_task, "molecules": molecule_task}


def make_task(name: str, n_structures: int, *, seed: int = 0) -> Task:
    """The task called ``name`` (a key of :data:`TASKS`) with ``n_structures`` structures."""
    if name not in TASKS:
        raise InputError(f"unknown benchmark task {name!r}; use one of {sorted(TASKS)}")
    if int(n_structures) < 20:
        raise InputError(f"a task needs at least 20 structures, got {n_structures}")
    return TASKS[name](int(n_structures), seed=seed)
