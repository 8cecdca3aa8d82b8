"""nu-point density correlations by iterated Clebsch-Gordan coupling (definition and selection
in :mod:`completeness.descriptors.correlations`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ...environments import InputError, Neighbourhoods
from ..base import Descriptor
from ..hypers import Integer, declare
from ..outputs import output_zeros
from . import nu4
from .common import CorrelationHypers
from .coupling import Level, couple_rows, merge, sorted_pairs

_MAX_CORRELATION_ORDER = 6
_STRUCTURE_CACHE: dict = {}
_SPECIES_TOKEN = re.compile(r"a\d+,")


class DensityCorrelations(CorrelationHypers, Descriptor):
    """nu-point density correlations by iterated Clebsch-Gordan coupling; see the package doc.

    Parameters
    ----------
    correlation_order : int
        nu >= 1 (body order nu + 1). Tested up to 4.
    cutoff, n_radial, max_angular, density_width, radial_basis, cutoff_width, species
        As for :class:`Bispectrum`.
    include_pseudoscalar : bool
        Also return the odd-parity (mirror-odd) invariants; ``parity`` becomes "SO(3)".
    max_intermediate_angular : None or int
        Cap on the intermediate orders ``lambda_k``; None (default) keeps every order that can
        reach the final invariant, which makes the selection complete.
    """

    hyper_constraints = declare(
        correlation_order=Integer(1, _MAX_CORRELATION_ORDER),
        max_intermediate_angular=Integer(0, optional=True),
    )

    def __init__(
        self,
        *,
        correlation_order=3,
        cutoff=5.0,
        n_radial=4,
        max_angular=4,
        density_width=0.3,
        radial_basis="gto",
        cutoff_width=0.5,
        species=None,
        include_pseudoscalar=False,
        max_intermediate_angular=None,
    ):
        self.correlation_order = correlation_order
        self.cutoff = cutoff
        self.n_radial = n_radial
        self.max_angular = max_angular
        self.density_width = density_width
        self.radial_basis = radial_basis
        self.cutoff_width = cutoff_width
        self.species = species
        self.include_pseudoscalar = include_pseudoscalar
        self.max_intermediate_angular = max_intermediate_angular

    @property
    def body_order(self) -> int:  # type: ignore[override]
        """nu + 1."""
        return int(self.correlation_order) + 1

    # -- the structure of the features (values computed on demand) ----------------------------

    def _run(
        self,
        coefficients,
        pair_gradients,
        pair_sample,
        species_index,
        species,
        n_radial,
        names=True,
    ):
        """Iterate the couplings; return (values, gradients, names or None, parities)."""
        nu = int(self.correlation_order)
        max_angular = int(self.max_angular)
        cap = self.max_intermediate_angular
        cap = nu * max_angular if cap is None else int(cap)
        n_samples = coefficients[0].shape[0]
        n_channels = len(species) * n_radial
        channel_name = [f"a{species[k // n_radial]},n{k % n_radial}" for k in range(n_channels)]
        c = [x.reshape(n_samples, n_channels, 2 * l + 1) for l, x in enumerate(coefficients)]
        dc = None
        if pair_gradients is not None:
            dc = _channel_gradients(pair_gradients, species_index, len(species), n_radial)
        levels = _first_levels(c, dc, channel_name, names)
        if nu == 1:
            level = levels[0]
            gradients = None if dc is None else level.gradients[..., 0]
            return level.values[:, :, 0], gradients, level.history, np.ones(n_channels, np.int64)
        context = _Context(c, dc, pair_sample, channel_name, max_angular, n_channels)
        for k in range(2, nu):  # intermediate levels 2 .. nu-1
            levels = _next_levels(levels, k, min(cap, (nu - k) * max_angular), context)
        return _final_contraction(levels, nu, self.include_pseudoscalar is True, context)

    def _structure_key(self, species) -> tuple:
        return (
            int(self.correlation_order),
            int(self.n_radial),
            int(self.max_angular),
            len(species),
            self.include_pseudoscalar is True,
            self.max_intermediate_angular,
        )

    def _structure(self, species):
        """(names, parities, keep mask) of the selection, cached per hyperparameters.

        The couplings are evaluated once at seeded random expansion coefficients (4 samples of
        standard normal numbers): an invariant that is identically zero as a polynomial of the
        coefficients (a symmetry cancellation that the rules in the module doc do not catch,
        e.g. ``(c_0 (x) c_t)_l (x) c_t`` coupled to odd order) evaluates to round-off there,
        every other one to O(1). Those are dropped (``keep`` is False).
        """
        n_radial = int(self.n_radial)
        max_angular = int(self.max_angular)
        key = self._structure_key(species)
        if key not in _STRUCTURE_CACHE:
            rng = np.random.default_rng(12345)
            coefficients = [
                rng.normal(size=(4, len(species), n_radial, 2 * l + 1))
                for l in range(max_angular + 1)
            ]
            values, _, names, parities = self._run(
                coefficients,
                None,
                np.zeros(0, dtype=np.int64),
                np.zeros(0, dtype=np.int64),
                np.arange(len(species)),
                n_radial,
            )
            size = np.abs(values).max(axis=0)
            keep = size > 1e-9 * size.max()
            _STRUCTURE_CACHE[key] = (names, parities, keep)
        named_key = (*key, tuple(int(z) for z in species))
        if named_key in _STRUCTURE_CACHE:
            return _STRUCTURE_CACHE[named_key]
        names, parities, keep = _STRUCTURE_CACHE[key]
        # names were built with species indices: substitute the atomic numbers
        lookup = {f"a{i},": f"a{z}," for i, z in enumerate(species)}
        pattern = re.compile(r"a(\d+),")
        names = [
            pattern.sub(lambda m: lookup[m.group(0)], name)
            for name, k in zip(names, keep, strict=True)
            if k
        ]
        _STRUCTURE_CACHE[named_key] = (names, parities[keep], keep)
        return _STRUCTURE_CACHE[named_key]

    def _feature_names(self, species):
        return tuple(self._structure(species)[0])

    def _parities(self, species) -> np.ndarray:
        return self._structure(species)[1]

    def _present_columns(self, species, present):
        """``(keep, columns)`` to compute with the channels of ``present`` species only.

        ``keep`` selects the features of the reduced selection (its ``_run`` rows) and
        ``columns`` places them in the full output; every feature with a channel of an absent
        species is identically zero there (values and gradients: no neighbour of that species).
        None when the reduced selection does not cover the full one (then nothing is skipped).
        """
        key = ("present", *self._structure_key(species), tuple(int(z) for z in species[present]))
        if key not in _STRUCTURE_CACHE:
            names = self._structure(species)[0]
            index = {name: i for i, name in enumerate(names)}
            sub_names, _, sub_keep = self._structure(species[present])
            columns = np.array([index.get(name, -1) for name in sub_names], dtype=np.int64)
            inside = {f"a{z}," for z in species[present]}
            covered = sum(set(_SPECIES_TOKEN.findall(name)) <= inside for name in names)
            result = None
            if np.all(columns >= 0) and covered == len(columns):
                result = (sub_keep, columns)
            _STRUCTURE_CACHE[key] = result
        return _STRUCTURE_CACHE[key]

    def _nu4_plan(self, species, present) -> nu4.Plan:
        """The :mod:`.nu4` plan of a batch whose neighbours are of the ``present`` species."""
        key = self._structure_key(species)
        plan_key = ("nu4", *key, tuple(int(i) for i in present))
        if plan_key not in _STRUCTURE_CACHE:
            self._structure(species)
            if ("paths", *key) not in _STRUCTURE_CACHE:
                names, _, keep = _STRUCTURE_CACHE[key]
                kept = [name for name, k in zip(names, keep, strict=True) if k]
                _STRUCTURE_CACHE[("paths", *key)] = nu4.parse_paths(kept)
            paths = _STRUCTURE_CACHE[("paths", *key)]
            plan = nu4.make_plan(paths, present, int(self.n_radial))
            _STRUCTURE_CACHE[plan_key] = plan
        return _STRUCTURE_CACHE[plan_key]

    def _compute_with_centres(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        if int(self.correlation_order) == 4:
            return self._compute_nu4(neighbourhoods, species, gradients)
        return super()._compute_with_centres(neighbourhoods, species, gradients)

    def _compute_nu4(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        """``(values, pair gradients, centre gradients)`` of nu = 4 through :mod:`.nu4` (the same
        features as :meth:`_compute_coupled`, far fewer operations)."""
        expansion = self._expansion().compute(neighbourhoods, species, gradients=gradients)
        n_features = int(self._structure(species)[2].sum())
        species_index = expansion.pair_species_index
        present = np.unique(species_index)
        n_samples = neighbourhoods.n_samples
        if len(present) == 0:  # no pair anywhere: every feature is zero
            values = np.zeros((n_samples, n_features))
            if not gradients:
                return values, None, None
            return values, np.zeros((0, 3, n_features)), np.zeros((n_samples, 3, n_features))
        plan = self._nu4_plan(species, present)
        n_radial = int(self.n_radial)
        c = [
            np.ascontiguousarray(x[:, present]).reshape(n_samples, plan.n_channels, -1)
            for x in expansion.coefficients
        ]
        dc = None
        if gradients:
            reduced_index = np.searchsorted(present, species_index)
            dc = _channel_gradients(expansion.pair_gradients, reduced_index, len(present), n_radial)
        return nu4.compute(plan, c, dc, neighbourhoods.pair_offsets, n_features)

    def _compute(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        if int(self.correlation_order) == 4:
            return self._compute_nu4(neighbourhoods, species, gradients)[:2]
        return self._compute_coupled(neighbourhoods, species, gradients)

    def _compute_coupled(self, neighbourhoods: Neighbourhoods, species, gradients: bool):
        """Any nu by iterated coupling with forward-mode gradients (:meth:`_run`)."""
        expansion = self._expansion().compute(neighbourhoods, species, gradients=gradients)
        keep = self._structure(species)[2]
        n_samples = neighbourhoods.n_samples
        n_features = int(keep.sum())
        species_index = expansion.pair_species_index
        coefficients = expansion.coefficients
        present = np.unique(species_index)
        columns = None
        if 0 < len(present) < len(species):  # skip the channels of species without neighbours
            reduced = self._present_columns(np.asarray(species), present)
            if reduced is not None:
                keep, columns = reduced
                coefficients = [c[:, present] for c in coefficients]
                species_index = np.searchsorted(present, species_index)
                species = np.asarray(species)[present]
        values, pair_gradients = self._run_in_chunks(
            neighbourhoods, coefficients, expansion.pair_gradients, species_index, species, keep
        )
        if columns is None:
            return values, pair_gradients
        full_values = np.zeros((n_samples, n_features))
        full_values[:, columns] = values
        if pair_gradients is None:
            return full_values, None
        full_gradients = output_zeros((neighbourhoods.n_pairs, 3, n_features))
        full_gradients[:, :, columns] = pair_gradients
        return full_values, full_gradients

    def _run_in_chunks(self, neighbourhoods, coefficients, pair_gradients, species_index, species,
                       keep):  # fmt: skip
        """:meth:`_run` over chunks of samples (bounding the memory of the intermediate and
        forward-mode arrays); ``(values, pair gradients or None)`` of the kept features."""
        n_samples = neighbourhoods.n_samples
        offsets = neighbourhoods.pair_offsets
        gradients = pair_gradients is not None
        values = np.empty((n_samples, int(keep.sum())))
        out = np.empty((neighbourhoods.n_pairs, 3, values.shape[1])) if gradients else None
        budget = 2**24 // max(1, keep.size)
        first = 0
        while first < n_samples:
            last = first + 1
            while (
                last < n_samples
                and (last - first) * 8 <= budget
                and (not gradients or (offsets[last + 1] - offsets[first]) * 3 <= budget)
            ):
                last += 1
            pairs = slice(offsets[first], offsets[last])
            chunk_values, chunk_gradients, _, _ = self._run(
                [c[first:last] for c in coefficients],
                [g[pairs] for g in pair_gradients] if gradients else None,
                neighbourhoods.pair_sample[pairs] - first,
                species_index[pairs],
                species,
                int(self.n_radial),
                names=False,
            )
            values[first:last] = chunk_values[:, keep]
            if gradients:
                out[pairs] = chunk_gradients[:, :, keep]
            first = last
        return values, out


@dataclass(frozen=True)
class _Context:
    """What every coupling step of one :meth:`DensityCorrelations._run` reads."""

    c: list  # per l: (S, n_channels, 2l+1)
    dc: list | None  # per l: (P, 3, n_channels, 2l+1)
    pair_sample: np.ndarray
    channel_name: list
    max_angular: int
    n_channels: int


def _channel_gradients(pair_gradients, species_index, n_species, n_radial) -> list:
    """Per l, ``(P, 3, n_channels, 2l+1)``: each pair's gradient in its species' channels."""
    n_pairs = len(species_index)
    dc = []
    for l, g in enumerate(pair_gradients):
        full = np.zeros((n_pairs, 3, n_species, n_radial, 2 * l + 1))
        full[np.arange(n_pairs), :, species_index] = g  # advanced indices first: (P, 3, n, m)
        dc.append(full.reshape(n_pairs, 3, n_species * n_radial, 2 * l + 1))
    return dc


def _first_levels(c, dc, channel_name, names) -> list:
    """Level 1: the expansion itself, one level per l."""
    n_channels = c[0].shape[1]
    ks = np.arange(n_channels)
    return [
        Level(
            lam=l,
            values=c[l],
            gradients=None if dc is None else dc[l],
            last_l=np.full(n_channels, l),
            last_k=ks,
            previous_lam=np.full(n_channels, -1),
            l_sum=np.full(n_channels, l),
            history=[f"({channel_name[k]},l{l})" for k in ks] if names else None,
        )
        for l in range(len(c))
    ]


def _next_levels(levels, k, top, context) -> list:
    """Couple every level with one more channel (sorted), to every order up to ``top``."""
    new: dict[int, list] = {}
    for level in levels:
        for l in range(int(level.last_l.min()), context.max_angular + 1):
            pairs = sorted_pairs(level, l, context.n_channels)
            lams = list(range(abs(level.lam - l), min(level.lam + l, top) + 1))
            if pairs is None or not lams:
                continue
            rows, ks = pairs
            drop_odd = None
            if k == 2:  # t1 == t2 with odd lambda_2 vanishes identically
                drop_odd = (level.last_k[rows] == ks) & (level.last_l[rows] == l)
            dc_l = None if context.dc is None else context.dc[l]
            parts = couple_rows(
                level, rows, ks, context.c[l], dc_l, l, lams, context.pair_sample,
                context.channel_name, drop_odd,
            )  # fmt: skip
            for part in parts:
                new.setdefault(part.lam, []).append(part)
    return [merge(lam, parts) for lam, parts in sorted(new.items())]


def _final_contraction(levels, nu, include_odd, context):
    """Contract each level with the last channel (``lambda_{nu-1} = l_nu``)."""
    c, dc, pair_sample = context.c, context.dc, context.pair_sample
    values, gradients, feature_names, parities = [], [], [], []
    for level in levels:
        l = level.lam
        pairs = None if l > context.max_angular else sorted_pairs(level, l, context.n_channels)
        if pairs is None:
            continue
        rows, ks = pairs
        odd = (level.l_sum[rows] + l) % 2 == 1
        keep = ~odd | include_odd
        if nu >= 3:  # t_{nu-1} == t_nu with odd lambda_{nu-2} vanishes identically
            same = (level.last_k[rows] == ks) & (level.last_l[rows] == l)
            keep &= ~(same & (level.previous_lam[rows] % 2 == 1))
        rows, ks, odd = rows[keep], ks[keep], odd[keep]
        if len(rows) == 0:
            continue
        values.append(np.einsum("srm,srm->sr", level.values[:, rows], c[l][:, ks]))
        if dc is not None:
            g = np.einsum("pxrm,prm->pxr", level.gradients[:, :, rows], c[l][pair_sample][:, ks])
            g += np.einsum("prm,pxrm->pxr", level.values[pair_sample][:, rows], dc[l][:, :, ks])
            gradients.append(g)
        if level.history is not None:
            feature_names.extend(
                f"{level.history[r]}[{l}]({context.channel_name[q]},l{l})"
                for r, q in zip(rows, ks, strict=True)
            )
        parities.append(np.where(odd, -1, 1))
    if not values:
        raise InputError(
            "no invariant survives the selection; raise max_angular or max_intermediate_angular"
        )
    return (
        np.concatenate(values, axis=1),
        None if dc is None else np.concatenate(gradients, axis=2),
        feature_names if levels[0].history is not None else None,
        np.concatenate(parities),
    )
