"""Evaluating a descriptor on displaced copies of one environment: features and Jacobians
(analytic or central differences) of batches of neighbour vectors."""

from __future__ import annotations

import math

import ase
import numpy as np

from ...environments import (
    COINCIDENT_TOLERANCE,
    Environment,
    InputError,
    Neighbourhoods,
    environment,
)
from ...numerics import central_differences

#: Central-difference step (Å) for descriptors without analytic gradients: the truncation error
#: ``h^2 f'''/6 ~ 1e-10`` and the round-off ``eps/h ~ 1e-11`` are then both far below any
#: singular value this module is asked to resolve.
FINITE_DIFFERENCE_STEP = 1e-5

#: Points of a response curve are used in a fit only if the response exceeds this multiple of the
#: measured round-off level (see :func:`roundoff_level`): there the relative error of the response,
#: hence of its logarithm, is below 1e-3.
ROUNDOFF_FACTOR = 1e3

# finite-difference and path evaluations are batched; this caps one batch's size
_BATCH = 512


# --------------------------------------------------------------------------------------------
# evaluating a descriptor on displaced copies of one environment
# --------------------------------------------------------------------------------------------


def _is_fast_descriptor(descriptor) -> bool:
    """True for package descriptors whose ``compute`` is the base-class one (pair-based)."""
    from ...descriptors.base import Descriptor

    return isinstance(descriptor, Descriptor) and type(descriptor).compute is Descriptor.compute


def _with_fixed_species(descriptor, species: np.ndarray):
    """A clone whose ``species`` is fixed to the environment's, so batches keep one layout.

    A displaced neighbour may leave the cutoff; without fixed species channels the feature
    vector could then change length. Descriptors that already fix ``species`` are kept as they
    are (after checking that the environment's species are among them, in ``compute``).
    """
    try:
        params = descriptor.get_params(deep=False)
    except AttributeError:
        return descriptor
    if "species" not in params or params["species"] is not None:
        return descriptor
    from sklearn.base import clone

    fitted = getattr(descriptor, "species_", None)  # learned by fit: never re-inferred
    if fitted is not None:
        species = fitted
    fixed = clone(descriptor)
    fixed.set_params(species=[int(s) for s in species])
    return fixed


class Evaluator:
    """Feature values (and Jacobians) of displaced copies of one environment.

    Two backends, chosen once: ``"neighbourhoods"`` builds a package descriptor's pair batch
    directly (no neighbour search: fast enough to call 20,000 times); ``"adapter"`` builds finite
    ase clusters (centre first) and goes through
    :func:`completeness.descriptors.user.as_descriptor`, which validates what any object with
    ``compute`` or any callable ``(positions, numbers) -> vector`` returns.
    """

    def __init__(self, descriptor, env: Environment):
        if env.n_neighbours == 0:
            raise InputError(
                f"centre {env.centre_index} has no neighbour inside the cutoff; choose another "
                "centre or a larger cutoff"
            )
        self.env = env
        self.n = env.n_neighbours
        self.name = getattr(descriptor, "name", None) or getattr(
            descriptor, "__name__", type(descriptor).__name__
        )
        all_species = np.unique(np.concatenate([[env.centre_species], env.species]))
        if _is_fast_descriptor(descriptor):
            self.backend = "neighbourhoods"
            self.descriptor = _with_fixed_species(descriptor, all_species)
            self.descriptor.check_hypers()
            self.cutoff = float(self.descriptor.cutoff)
            # the species channels, fixed for every batch (checked once against the input)
            self.species = self.descriptor.species_for(self._neighbourhoods(env.vectors[None]))
        else:
            from ...descriptors.user import as_descriptor

            self.backend = "adapter"
            self.descriptor = as_descriptor(_with_fixed_species(descriptor, all_species))
            self.name = self.descriptor.name

    # ---- batches ------------------------------------------------------------------------------

    def _neighbourhoods(self, batch: np.ndarray) -> Neighbourhoods:
        m, n = batch.shape[:2]
        distances = np.sqrt(np.einsum("snx,snx->sn", batch, batch))
        if np.any(distances < COINCIDENT_TOLERANCE):
            raise InputError(
                "a displaced neighbour reached the centre (distance < "
                f"{COINCIDENT_TOLERANCE:g} Å); use smaller displacements"
            )
        inside = distances < self.cutoff
        sample, neighbour = np.nonzero(inside)
        counts = inside.sum(axis=1)
        return Neighbourhoods(
            samples=np.stack([np.arange(m), np.zeros(m, dtype=np.int64)], axis=1),
            centre_species=np.full(m, self.env.centre_species, dtype=np.int64),
            n_atoms=np.full(m, n + 1, dtype=np.int64),
            pair_sample=sample.astype(np.int64),
            pair_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            pair_neighbour=(neighbour + 1).astype(np.int64),
            pair_species=self.env.species[neighbour],
            pair_vectors=batch[sample, neighbour],
            pair_distances=distances[sample, neighbour],
            cutoff=self.cutoff,
        )

    def _clusters(self, batch: np.ndarray) -> list[ase.Atoms]:
        numbers = np.concatenate([[self.env.centre_species], self.env.species])
        return [
            ase.Atoms(numbers=numbers, positions=np.vstack([np.zeros((1, 3)), vectors]))
            for vectors in batch
        ]

    def _check_values(self, values, m: int) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 1 and m == 1:
            values = values[None]
        if values.ndim != 2 or values.shape[0] != m:
            raise InputError(
                f"{self.name} returned features of shape {values.shape} for {m} environments; "
                "it must return one 1-D feature vector per environment"
            )
        if not np.isfinite(values).all():
            raise InputError(f"{self.name} returned non-finite features; check its inputs")
        return values

    def values(self, batch) -> np.ndarray:
        """Features ``(m, n_features)`` of a batch of neighbour vectors ``(m, n, 3)``."""
        batch = np.asarray(batch, dtype=np.float64)
        out = []
        for start in range(0, len(batch), _BATCH):
            chunk = batch[start : start + _BATCH]
            if self.backend == "neighbourhoods":
                # the subclass contract of Descriptor (_compute), without the feature names and
                # Features wrapping that compute_neighbourhoods adds per call
                values, _ = self.descriptor.compute_arrays(
                    self._neighbourhoods(chunk), self.species, False
                )
            else:
                values = self.descriptor.compute(self._clusters(chunk), centers=[0]).values
            out.append(self._check_values(values, len(chunk)))
        return np.concatenate(out)

    def analytic(self, vectors: np.ndarray):
        """``(values (F,), jacobian (F, n, 3))`` from the descriptor's own gradients, or None.

        None means the descriptor has no analytic gradients (it raised NotImplementedError or
        returned ``gradients=None``); any other error propagates.
        """
        if self.backend == "adapter" and not self.descriptor.has_gradients:
            return None
        batch = np.asarray(vectors, dtype=np.float64)[None]
        if self.backend == "neighbourhoods":
            neighbourhoods = self._neighbourhoods(batch)
            try:
                values, pair_gradients = self.descriptor.compute_arrays(
                    neighbourhoods, self.species, True
                )
            except NotImplementedError:
                return None
            if pair_gradients is None:
                return None
            values = self._check_values(values, 1)[0]
            pair_gradients = np.asarray(pair_gradients, dtype=np.float64)
            if pair_gradients.shape != (neighbourhoods.n_pairs, 3, values.size):
                raise InputError(
                    f"{self.name} returned pair gradients of shape {pair_gradients.shape}, "
                    f"expected ({neighbourhoods.n_pairs}, 3, {values.size})"
                )
            jac = np.zeros((values.size, self.n, 3))
            jac[:, neighbourhoods.pair_neighbour - 1, :] = pair_gradients.transpose(2, 0, 1)
            return values, jac
        try:
            features = self.descriptor.compute(self._clusters(batch), centers=[0], gradients=True)
        except NotImplementedError:
            return None
        if getattr(features, "gradients", None) is None:
            return None
        values = self._check_values(features.values, 1)[0]
        gradients = np.asarray(features.gradients, dtype=np.float64)
        expected = (1, self.n + 1, 3, values.size)
        if gradients.shape[:2] != (1, self.n + 1) or gradients.shape[2:] != expected[2:]:
            raise InputError(
                f"{self.name} returned gradients of shape {gradients.shape}, expected {expected} "
                "(n_samples, n_atoms, 3, n_features)"
            )
        # (n, 3, F) -> (F, n, 3): neighbours only, the centre's row is the negative sum
        return values, np.moveaxis(gradients[0, 1:], 2, 0)

    def finite_difference(self, vectors: np.ndarray, step: float = FINITE_DIFFERENCE_STEP):
        """``(values (F,), jacobian (F, n, 3))`` by central differences (2 * 3n evaluations)."""
        value, derivatives = central_differences(self.values, vectors, step, with_value=True)
        return value, derivatives.transpose(2, 0, 1)  # (n, 3, F) -> (F, n, 3)


def _environment_for(descriptor, atoms: ase.Atoms, centre: int, cutoff) -> Environment:
    own = getattr(descriptor, "cutoff", None)
    if own is not None:
        if cutoff is not None and not math.isclose(float(cutoff), float(own)):
            raise InputError(
                f"cutoff={cutoff} differs from the descriptor's cutoff={own}: neighbours between "
                "the two would get spurious zero columns; omit cutoff="
            )
        cutoff = own
    if cutoff is None and np.any(atoms.pbc):
        raise InputError(
            "this descriptor has no cutoff attribute and the system is periodic; pass cutoff=..."
        )
    return environment(atoms, centre=centre, cutoff=cutoff)


def as_environment(descriptor, atoms, centre, cutoff) -> Environment:
    if isinstance(atoms, Environment):
        return atoms
    return _environment_for(descriptor, atoms, centre, cutoff)


# --------------------------------------------------------------------------------------------
# rotations
# --------------------------------------------------------------------------------------------


def rotation_basis(vectors, tolerance: float = 1e-10) -> np.ndarray:
    """Orthonormal basis ``(3n, r)`` of the infinitesimal rigid rotations of ``vectors``.

    The rotation about axis ``e`` moves neighbour ``j`` by ``e x r_j``. ``r`` is 3, or less
    for linear environments (rank decided with ``tolerance`` relative to the largest singular
    value of the three generators).
    """
    vectors = np.asarray(vectors, dtype=np.float64).reshape(-1, 3)
    x, y, z = vectors.T
    zero = np.zeros_like(x)
    # column k: e_k x r_j for every neighbour j, flattened (j, component)
    generators = np.stack(
        [
            np.stack(columns, axis=1).reshape(-1)
            for columns in ((zero, -z, y), (z, zero, -x), (-y, x, zero))
        ],
        axis=1,
    )
    u, s, _ = np.linalg.svd(generators, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return np.zeros((generators.shape[0], 0))
    return u[:, s > tolerance * s[0]]


def orthogonal_complement(basis: np.ndarray, dimension: int) -> np.ndarray:
    """Orthonormal basis ``(dimension, dimension - r)`` of the complement of ``basis``."""
    if basis.shape[1] == 0:
        return np.eye(dimension)
    # the projector onto the complement has eigenvalue 1 there and 0 on `basis`
    u, _, _ = np.linalg.svd(np.eye(dimension) - basis @ basis.T)
    return u[:, : dimension - basis.shape[1]]
