"""One centred environment (:class:`Environment`), as the oracle and users who build environments
from neighbour vectors see it."""

from __future__ import annotations

from dataclasses import dataclass

import ase
import numpy as np

from ..errors import InputError
from .checks import (
    atomic_number,
    check_apart,
    check_atomic_numbers,
    check_centres,
    check_cutoff,
    check_size,
    check_systems,
)
from .pairs import all_pairs, cutoff_pairs


@dataclass(frozen=True, eq=False)
class Environment:
    """One centred environment.

    Attributes
    ----------
    vectors : (n_neighbours, 3) float array
        ``r_j - r_i`` in Å, periodic images included.
    species : (n_neighbours,) int array
        Atomic numbers of the neighbours.
    centre_species : int
        Atomic number of the centre.
    neighbour_index : (n_neighbours,) int array
        Index in the source system of each neighbour (an atom may appear several times
        through periodic images).
    centre_index : int
        Index of the centre in the source system.
    cutoff : float or None
        The cutoff used, or None when every other atom of a finite cluster is a neighbour.
    """

    vectors: np.ndarray
    species: np.ndarray
    centre_species: int
    neighbour_index: np.ndarray
    centre_index: int = 0
    cutoff: float | None = None

    @property
    def n_neighbours(self) -> int:
        return len(self.vectors)

    @property
    def distances(self) -> np.ndarray:
        return np.linalg.norm(self.vectors, axis=1)

    @classmethod
    def from_vectors(cls, vectors, species=None, centre_species: int = 1) -> Environment:
        """Build an environment from neighbour vectors (centre at the origin).

        ``species`` defaults to 1 (H) for every neighbour. Vectors are validated like atoms.
        ``centre_species=0`` marks a dummy centre (a point, not an atom: e.g. a centroid).
        """
        array = np.asarray(vectors, dtype=np.float64)
        if array.size == 0:
            array = array.reshape(0, 3)
        if array.ndim != 2 or array.shape[1] != 3:
            raise InputError(
                f"neighbour vectors must have shape (n_neighbours, 3), got {array.shape}"
            )
        if species is None:
            species = np.ones(len(array), dtype=np.int64)
        species = check_atomic_numbers(np.asarray(species).reshape(-1), "species")
        dummy = not isinstance(centre_species, str) and centre_species == 0
        centre_species = 0 if dummy else atomic_number(centre_species)
        if species.shape != (len(array),):
            raise InputError(
                f"got {species.size} species for {len(array)} neighbour vectors; give one "
                "atomic number per neighbour"
            )
        atoms = ase.Atoms(
            numbers=np.concatenate([[centre_species or 1], species]),
            positions=np.vstack([np.zeros((1, 3)), array]),
        )
        built = environment(atoms, centre=0)
        if dummy:
            object.__setattr__(built, "centre_species", 0)
        return built

    def to_atoms(self) -> ase.Atoms:
        """The environment as a finite cluster: centre at the origin (atom 0), then neighbours."""
        return ase.Atoms(
            numbers=np.concatenate([[self.centre_species], self.species]).astype(int),
            positions=np.vstack([np.zeros((1, 3)), self.vectors]),
        )


def environment(
    atoms: ase.Atoms, centre: int = 0, cutoff: float | None = None, *, max_pairs=None
) -> Environment:
    """The environment of atom ``centre`` of ``atoms``.

    With ``cutoff=None`` every other atom of a finite (non-periodic) cluster is a neighbour;
    periodic systems need a cutoff. An environment with no neighbour inside the cutoff is valid.
    """
    (atoms,) = check_systems(atoms)
    (centre,) = check_centres(atoms, [centre], 0)
    if cutoff is None:
        if np.any(atoms.pbc):
            raise InputError(
                "a periodic system needs a cutoff to define environments; pass cutoff=..."
            )
        i, j, vectors, distances = all_pairs(atoms)
    else:
        cutoff = check_cutoff(cutoff)
        if np.any(atoms.pbc):
            check_size(atoms, cutoff, len(atoms), 0, max_pairs)
        i, j, vectors, distances = cutoff_pairs(atoms, cutoff)
    check_apart(0, i, j, distances)
    mine = i == centre
    return Environment(
        vectors=vectors[mine],
        species=atoms.numbers[j[mine]].astype(np.int64),
        centre_species=int(atoms.numbers[centre]),
        neighbour_index=j[mine],
        centre_index=int(centre),
        cutoff=None if cutoff is None else float(cutoff),
    )
