"""The built-in descriptors with the hyperparameters the audit uses.

Every descriptor of the package appears here once per flavour, with a cutoff of 5 Å and small
bases so that the whole audit (every descriptor on the whole catalog, with report cards) runs in
well under a minute on two cores: spectra with 6 radial functions (power spectrum l <= 4), the
bispectrum with 3 radial functions and l <= 3 (even terms only, and with the odd pseudoscalar
terms), nu = 4 density correlations with 2 radial functions and l <= 2 (901 features for two
species, enough to resolve the B8 pairs by ~11 decades), ACSF with 8 G2 (and 6 G4), Chebyshev
radial order 8 / angular order 6, local MBTR with its default 50-point grids (k = 2 only; k = 3
only), AMP's Zernike descriptor with max_order 6, and two random-weight message-passing families
with three weight seeds each (SchNet-like: 3 layers, width 8, 8 Gaussians; tensor-product:
2 layers, l <= 2, correlation order 3, width 4; see :mod:`completeness.descriptors.networks`).
Small bases are a choice, not a weakness the audit hides: a
pair that a descriptor class resolves in principle but that these bases miss is reported as a
"basis-limited" finding.

``builtin_descriptors()`` returns a fresh dict ``{key: descriptor}`` in a fixed order (body order
first, then family), so tables and JSON are stable from run to run.
"""

from __future__ import annotations

from ..environments import InputError
from .base import Descriptor
from .chebyshev import ChebyshevDescriptor
from .correlations import Bispectrum, DensityCorrelations
from .mbtr import LocalMBTR
from .networks import DistanceMessagePassing, EquivariantMessagePassing
from .overlap import OverlapMatrixFingerprint
from .spectra import PowerSpectrum, RadialSpectrum
from .symmetry_functions import SymmetryFunctions
from .zernike import ZernikeDescriptor

__all__ = [
    "AUDIT_CUTOFF",
    "builtin_descriptors",
    "resolve_descriptor",
    "resolve_descriptors",
]

#: Libraries wrapped in completeness.descriptors.wrappers ("library:Name" on the command line).
_PEER_LIBRARIES = ("featomic", "dscribe", "quippy", "amd")
#: Trained-model libraries ("mace:PATH"): completeness.descriptors.models.MODEL_TYPES, unimported.
_MODEL_TYPES = ("mace", "schnetpack", "metatomic", "nequip")

#: Cutoff (Å) of every built-in descriptor in the audit.
AUDIT_CUTOFF = 5.0

# Behler-Parrinello parameters: radial Gaussians centred every Å with two widths; angular terms
# with a wide Gaussian, three angular resolutions and both lambda signs.
_G2 = [[eta, shift] for shift in (1.0, 2.0, 3.0, 4.0) for eta in (1.0, 4.0)]
_G4 = [[0.05, zeta, sign] for zeta in (1.0, 2.0, 4.0) for sign in (1.0, -1.0)]


def builtin_descriptors() -> dict[str, Descriptor]:
    """Every built-in descriptor with audit hyperparameters, keyed by a short name."""
    cutoff = AUDIT_CUTOFF
    return {
        "radial-spectrum": RadialSpectrum(cutoff=cutoff, n_radial=6, density_width=0.5),
        "acsf-g2": SymmetryFunctions(cutoff=cutoff, g2_params=_G2),
        "lmbtr-k2": LocalMBTR(cutoff=cutoff, k3_geometry=None),
        "power-spectrum": PowerSpectrum(
            cutoff=cutoff, n_radial=6, max_angular=4, density_width=0.5
        ),
        "zernike": ZernikeDescriptor(cutoff=cutoff, max_order=6),
        "acsf-g2-g4": SymmetryFunctions(cutoff=cutoff, g2_params=_G2, g4_params=_G4),
        "chebyshev": ChebyshevDescriptor(
            radial_cutoff=cutoff, radial_order=8, angular_cutoff=cutoff, angular_order=6
        ),
        "lmbtr-k3": LocalMBTR(cutoff=cutoff, k2_geometry=None),
        "bispectrum": Bispectrum(cutoff=cutoff, n_radial=3, max_angular=3, density_width=0.5),
        "bispectrum-pseudoscalar": Bispectrum(
            cutoff=cutoff,
            n_radial=3,
            max_angular=3,
            density_width=0.5,
            include_pseudoscalar=True,
        ),
        "density-correlations-nu4": DensityCorrelations(
            correlation_order=4, cutoff=cutoff, n_radial=2, max_angular=2, density_width=0.5
        ),
        # Goedecker's overlap-matrix fingerprint (s + p orbitals); orbitals 1 Å wide: with
        # covalent radii (the papers' choice for bonded neighbours) the overlaps between
        # neighbours 3-4 Å apart vanish below round-off
        "overlap-fingerprint": OverlapMatrixFingerprint(
            cutoff=cutoff, n_eigenvalues=16, orbital_width=1.0
        ),
        # random-weight families (three weight seeds each, features concatenated over seeds)
        "schnet-like": DistanceMessagePassing(cutoff=cutoff, n_layers=3, width=8, n_radial=8),
        "tensor-product-net": EquivariantMessagePassing(cutoff=cutoff, n_layers=2, width=4),
    }


def resolve_descriptor(spec: str, hypers: dict | None = None):
    """The one descriptor that ``spec`` names, with ``hypers`` set on it.

    ``spec`` is one of (the same spellings for every command and every caller):

    - a :func:`builtin_descriptors` key (``power-spectrum``): the audit's configured instance;
    - a class name (``PowerSpectrum``): the class with its own constructor defaults;
    - ``library:Name`` (``featomic:SoapPowerSpectrum``): a wrapped library's descriptor, see
      :mod:`completeness.descriptors.wrappers`;
    - ``TYPE:PATH`` (``mace:my.model``, ``schnetpack:best_model``): a trained model file read
      by its own library, every layer's features, see :mod:`completeness.descriptors.models`;
    - ``module:attr``: your own object or callable (:func:`completeness.descriptors.user.
      load_descriptor`), passed through :func:`completeness.descriptors.adapt` (a
      configured dscribe descriptor, a featomic calculator or an ASE calculator is accepted).

    ``hypers`` (e.g. ``{"cutoff": 6.0}``) are set with ``set_params`` on a copy; a name the
    descriptor does not take is an :class:`InputError`, never silently dropped.
    """
    from .base import registered_descriptors
    from .user import load_descriptor

    hypers = dict(hypers or {})
    builtin = builtin_descriptors()
    classes = registered_descriptors()
    if spec in builtin:
        descriptor = builtin[spec]
    elif spec.partition(":")[0] in _PEER_LIBRARIES:  # before module:attr
        from .wrappers import load_peer

        descriptor = load_peer(spec)
    elif spec.partition(":")[0] in _MODEL_TYPES:  # a trained model file, before module:attr
        from .models import load_model

        model_type, _, path = spec.partition(":")
        descriptor = load_model(path, model_type)
    elif ":" in spec:  # your own object: adapted (dscribe/featomic objects, ASE calculators)
        from .adapters import adapt

        descriptor = adapt(load_descriptor(spec))
    elif spec in classes:
        _check_accepted(spec, classes[spec], hypers)
        try:
            return classes[spec](**hypers)
        except TypeError as error:
            raise InputError(
                f"{spec} cannot be built from its defaults ({error}); give its hyperparameters "
                "on the command line, use a built-in key, or pass an instance as module:attr"
            ) from None
    else:
        raise InputError(
            f"unknown descriptor {spec!r}; use a built-in key ({', '.join(builtin)}), a class "
            f"name ({', '.join(sorted(classes))}), library:Name or module:attr for your own"
        )
    if not hypers:
        return descriptor
    _check_accepted(spec, descriptor, hypers)
    from sklearn.base import clone

    return clone(descriptor).set_params(**hypers)


def _check_accepted(spec: str, descriptor, hypers: dict) -> None:
    """InputError naming the first hyperparameter in ``hypers`` that ``descriptor`` (a class or
    an instance) does not take."""
    import inspect

    if hasattr(descriptor, "get_params") and not isinstance(descriptor, type):
        accepted = set(descriptor.get_params(deep=False))
    else:
        accepted = set(inspect.signature(descriptor).parameters)
    unknown = sorted(set(hypers) - accepted)
    if unknown:
        raise InputError(f"{spec} has no hyperparameter(s) {unknown}; it takes {sorted(accepted)}")


def resolve_descriptors(specs, hypers: dict | None = None) -> dict:
    """``{spec: descriptor}`` for every spelling in ``specs`` (see :func:`resolve_descriptor`)."""
    return {spec: resolve_descriptor(spec, hypers) for spec in specs}
