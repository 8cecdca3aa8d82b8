"""featomic (Rust, https://github.com/metatensor/featomic) behind the package's API.

Three calculators: :class:`FeatomicSoapRadialSpectrum` (2-body), :class:`FeatomicSoapPowerSpectrum`
(3-body) and :class:`FeatomicDensityCorrelations` (nu = 3, i.e. 4-body, through
``featomic.clebsch_gordan.DensityCorrelations``; both parities). featomic is imported inside
:meth:`compute`, never when this module is imported. It runs in the caller's process: it raises
Python exceptions with clear messages and has never ended the process in our measurements.

Translation table (ours = featomic 0.6 hypers)::

    cutoff=5.0              cutoff={"radius": 5.0, ...}
    cutoff_width=0.5        cutoff={"smoothing": {"type": "ShiftedCosine", "width": 0.5}}
    density_width=0.5       density={"type": "Gaussian", "width": 0.5}
    center_atom_weight=1.0  density={"center_atom_weight": 1.0}   (featomic's default;
                            the package's own spectra leave the centre out: 0.0)
    n_radial=8              basis={"radial": {"type": "Gto", "max_radial": 7}}   (an index!)
    max_angular=6           basis={"type": "TensorProduct", "max_angular": 6}
    spline_accuracy=1e-8    basis={"spline_accuracy": 1e-8}       (None: exact radial integrals)
    correlation_order=3     DensityCorrelations(n_correlations=2)  (nu = n_correlations + 1)
    species=[1, 6]          selected_keys over every (centre, neighbour) species combination

Layout: featomic's keys ``center_type`` are moved to the samples (one row per centre whatever
its species) and the neighbour-species keys to the features, with every combination of
``species`` present (blocks absent from the input are zeros), so the length is fixed. Feature
names spell featomic's key and property labels, e.g.
``neighbor_1_type=1,neighbor_2_type=6,l=2,n_1=0,n_2=1``.

Gradients: featomic's ``gradients=["positions"]`` blocks (``sample, system, atom``) scattered to
``(n_samples, n_atoms, 3, n_features)``. ``DensityCorrelations`` has no gradients: featomic raises
``NotImplementedError("Clebsch Gordan combinations with gradients not yet implemented...")``,
which propagates unchanged.

References: Musil et al., J. Chem. Phys. 154, 114109 (2021), doi:10.1063/5.0044689 (featomic's
implementation); Bartók, Kondor, Csányi, Phys. Rev. B 87, 184115 (2013),
doi:10.1103/PhysRevB.87.184115 (SOAP).
"""

from __future__ import annotations

import itertools

import numpy as np

from ..hypers import Integer, Real, declare
from ._base import PeerDescriptor, sample_rows

__all__ = [
    "FeatomicDensityCorrelations",
    "FeatomicSoapPowerSpectrum",
    "FeatomicSoapRadialSpectrum",
]


class _FeatomicSoap(PeerDescriptor):
    library = "featomic"
    hyper_constraints = declare(
        center_atom_weight=Real(),
        spline_accuracy=Real(0, low_open=True, optional=True),
        correlation_order=Integer(2),
    )

    def _cutoff_hypers(self):
        return {
            "radius": float(self.cutoff),
            "smoothing": {"type": "ShiftedCosine", "width": float(self.cutoff_width)},
        }

    def _density_hypers(self):
        return {
            "type": "Gaussian",
            "width": float(self.density_width),
            "center_atom_weight": float(self.center_atom_weight),
        }

    def _basis_hypers(self):
        radial = {"type": "Gto", "max_radial": int(self.n_radial) - 1}
        if "max_angular" not in self.get_params():  # the radial spectrum: l = 0 only
            return {"radial": radial, "spline_accuracy": self.spline_accuracy}
        return {
            "type": "TensorProduct",
            "max_angular": int(self.max_angular),
            "radial": radial,
            "spline_accuracy": self.spline_accuracy,
        }

    def featomic_hypers(self) -> dict:
        """The hyperparameters in featomic's own words (of the spherical expansion, for
        :class:`FeatomicDensityCorrelations`)."""
        return {
            "cutoff": self._cutoff_hypers(),
            "density": self._density_hypers(),
            "basis": self._basis_hypers(),
        }

    def _compute_tensor(self, name, key_names, keys, systems, centres, gradients):
        return compute_selected(
            self._calculator(name), key_names, keys, systems, centres, gradients
        )

    def _calculator(self, name: str):
        """featomic's calculator ``name``, cached on the instance (building one splines the
        radial integrals); the key holds every hyperparameter, so ``set_params`` never reuses
        a stale one."""
        import featomic

        key = (name, repr(sorted(self.get_params().items())))
        cache = self.__dict__.setdefault("_featomic_cache", {})
        if key not in cache:
            cache.clear()
            cache[key] = getattr(featomic, name)(**self.featomic_hypers())
        return cache[key]


def key_labels(names, rows):
    import metatensor

    array = np.asarray(rows, dtype=np.int32).reshape(-1, len(names))
    return metatensor.Labels(list(names), array)


def selected_samples(centres):
    return key_labels(["system", "atom"], sample_rows(centres))


def compute_selected(calculator, key_names, keys, systems, centres, gradients):
    """A featomic calculator's TensorMap on the requested centres (``centres[k]`` of
    ``systems[k]``) and the blocks ``keys`` (rows of ``key_names`` values)."""
    return calculator.compute(
        systems,
        selected_samples=selected_samples(centres),
        selected_keys=key_labels(key_names, keys),
        gradients=["positions"] if gradients else None,
    )


def _row_index(centres):
    return {(k, c): row for row, (k, c) in enumerate(sample_rows(centres).tolist())}


def _column_group(key) -> tuple:
    """The feature group of a block: its key without ``center_type`` (which goes to the rows).

    Every other key dimension matters: featomic 0.6.7's ``DensityCorrelations`` keeps the
    intermediate angular channels (``l_1, l_2, k_2, l_3``) in the keys, not the properties.
    """
    return tuple(
        (name, int(value))
        for name, value in zip(key.names, key.values.tolist(), strict=True)
        if name != "center_type"
    )


def to_dense(tensor, centres, systems, gradients):
    """Scatter a featomic TensorMap (samples ``system, atom``) to dense arrays.

    Blocks with the same :func:`_column_group` share columns (they differ only by the centre's
    species, i.e. by rows); groups are laid out in the order of first appearance in
    ``tensor.keys``, which follows the explicit ``selected_keys`` (every species combination).
    """
    column_keys = _column_group
    rows = _row_index(centres)
    groups: dict = {}
    names: list = []
    for key, block in tensor.items():
        group = column_keys(key)
        if group in groups:
            continue
        properties = block.properties
        groups[group] = (len(names), len(properties))
        prefix = ",".join(
            f"{n}={v}"
            for n, v in zip(key.names, key.values.tolist(), strict=True)
            if n != "center_type"
        )
        for row in properties.values.tolist():
            label = ",".join(f"{n}={v}" for n, v in zip(properties.names, row, strict=True))
            names.append(f"{prefix},{label}" if prefix else label)
    n_samples = len(rows)
    values = np.zeros((n_samples, len(names)))
    max_atoms = max(len(atoms) for atoms in systems)
    dense_gradients = np.zeros((n_samples, max_atoms, 3, len(names))) if gradients else None
    for key, block in tensor.items():
        start, width = groups[column_keys(key)]
        if len(block.samples) == 0:
            continue
        sample_rows = np.array(
            [
                rows[(s, a)]
                for s, a in zip(
                    block.samples.column("system").tolist(),
                    block.samples.column("atom").tolist(),
                    strict=True,
                )
            ],
            dtype=np.int64,
        )
        # invariant blocks of clebsch_gordan keep one (lambda = 0) component axis: drop it
        values[sample_rows, start : start + width] = block.values.reshape(len(sample_rows), width)
        if gradients:
            gradient = block.gradient("positions")
            if len(gradient.samples) == 0:
                continue
            g = gradient.samples.values
            dense_gradients[sample_rows[g[:, 0]], g[:, 2], :, start : start + width] = (
                gradient.values.reshape(len(g), 3, width)
            )
    return values, dense_gradients, names


class FeatomicSoapRadialSpectrum(_FeatomicSoap):
    """featomic's ``SoapRadialSpectrum``: the 2-body SOAP radial spectrum (see the module doc
    for the translation table).

    ``<a n | rho_i> = sum_{j in a} int R_n(r) g(r - r_ij) f_c(r_ij) dr`` (l = 0 only).
    """

    peer_name = "SoapRadialSpectrum"
    body_order = 2
    parity = "O(3)"

    def __init__(
        self,
        *,
        cutoff: float = 5.0,
        n_radial: int = 6,
        density_width: float = 0.5,
        cutoff_width: float = 0.5,
        center_atom_weight: float = 1.0,
        spline_accuracy: float | None = 1e-8,
        species=None,
    ):
        self.cutoff = cutoff
        self.n_radial = n_radial
        self.density_width = density_width
        self.cutoff_width = cutoff_width
        self.center_atom_weight = center_atom_weight
        self.spline_accuracy = spline_accuracy
        self.species = species

    def _peer_compute(self, systems, centres, species, gradients):
        keys = list(itertools.product(species, species))
        tensor = self._compute_tensor(
            "SoapRadialSpectrum",
            ["center_type", "neighbor_type"],
            keys,
            systems,
            centres,
            gradients,
        )
        return to_dense(tensor, centres, systems, gradients)


class FeatomicSoapPowerSpectrum(_FeatomicSoap):
    """featomic's ``SoapPowerSpectrum``: the 3-body SOAP power spectrum (module doc: translation
    table).

    ``p^{ab}_{n n' l} = sum_m <a n l m | rho_i> <b n' l m | rho_i> (-1)^l / sqrt(2l+1)``
    (featomic couples to lambda = 0 with Clebsch-Gordan coefficients, hence the sign), for
    neighbour species ``a <= b``; featomic keeps both ``(n, n')`` orders of a same-species block.
    """

    peer_name = "SoapPowerSpectrum"
    body_order = 3
    parity = "O(3)"

    def __init__(
        self,
        *,
        cutoff: float = 5.0,
        n_radial: int = 6,
        max_angular: int = 4,
        density_width: float = 0.5,
        cutoff_width: float = 0.5,
        center_atom_weight: float = 1.0,
        spline_accuracy: float | None = 1e-8,
        species=None,
    ):
        self.cutoff = cutoff
        self.n_radial = n_radial
        self.max_angular = max_angular
        self.density_width = density_width
        self.cutoff_width = cutoff_width
        self.center_atom_weight = center_atom_weight
        self.spline_accuracy = spline_accuracy
        self.species = species

    def _peer_compute(self, systems, centres, species, gradients):
        names = ["center_type", "neighbor_1_type", "neighbor_2_type"]
        keys = [
            (c, a, b)
            for c in species
            for a, b in itertools.combinations_with_replacement(species, 2)
        ]
        tensor = self._compute_tensor("SoapPowerSpectrum", names, keys, systems, centres, gradients)
        return to_dense(tensor, centres, systems, gradients)


class FeatomicDensityCorrelations(_FeatomicSoap):
    """featomic's ``clebsch_gordan.DensityCorrelations`` on its ``SphericalExpansion``: the
    ``correlation_order``-fold density correlation (nu = 3: 4-body) invariants, lambda = 0 with
    both parities (``o3_sigma = +1`` and the pseudoscalar ``-1`` blocks), hence ``parity =
    "SO(3)"``. Translation table in the module doc; no gradients (featomic raises).

    ``<Q; nu | rho_i^{(x) nu}>``: iterated Clebsch-Gordan products of the density expansion,
    Nigam, Pozdnyakov, Ceriotti, J. Chem. Phys. 153, 121101 (2020), doi:10.1063/5.0021116.
    """

    peer_name = "DensityCorrelations"
    parity = "SO(3)"
    provides_gradients = False

    def __init__(
        self,
        *,
        cutoff: float = 5.0,
        n_radial: int = 2,
        max_angular: int = 2,
        density_width: float = 0.5,
        cutoff_width: float = 0.5,
        center_atom_weight: float = 1.0,
        spline_accuracy: float | None = 1e-8,
        correlation_order: int = 3,
        species=None,
    ):
        self.cutoff = cutoff
        self.n_radial = n_radial
        self.max_angular = max_angular
        self.density_width = density_width
        self.cutoff_width = cutoff_width
        self.center_atom_weight = center_atom_weight
        self.spline_accuracy = spline_accuracy
        self.correlation_order = correlation_order
        self.species = species

    @property
    def body_order(self) -> int:  # nu-fold correlations are (nu + 1)-body
        return int(self.correlation_order) + 1

    def _peer_compute(self, systems, centres, species, gradients):
        from featomic.clebsch_gordan import DensityCorrelations

        names = ["o3_lambda", "o3_sigma", "center_type", "neighbor_type"]
        keys = [
            (l, 1, c, n) for l in range(int(self.max_angular) + 1) for c in species for n in species
        ]
        density = self._compute_tensor(
            "SphericalExpansion", names, keys, systems, centres, gradients
        )
        density = density.keys_to_properties("neighbor_type")
        correlations = DensityCorrelations(
            n_correlations=int(self.correlation_order) - 1, max_angular=int(self.max_angular)
        )
        tensor = correlations.compute(
            density,
            angular_cutoff=int(self.max_angular),
            selected_keys=key_labels(["o3_lambda", "o3_sigma"], [[0, 1], [0, -1]]),
        )
        return to_dense(tensor, centres, systems, gradients)
