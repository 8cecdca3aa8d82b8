"""Descriptors: the package's own implementations, and the base class users can subclass.

Every descriptor follows the API of :class:`completeness.descriptors.Descriptor`::

    ps = PowerSpectrum(cutoff=5.0, n_radial=8, max_angular=6, density_width=0.5)
    features = ps.compute(atoms, centers=[0], gradients=True)

Wrappers of featomic, dscribe and quippy live in ``completeness.descriptors.wrappers`` and import
their library lazily. :func:`adapt` turns an object already in hand (a configured dscribe
descriptor, a featomic calculator, an ASE calculator, a callable) into a descriptor the audit
accepts (:mod:`completeness.descriptors.adapters`).
"""

from ._kernels import repeated_calls
from .adapters import adapt
from .base import Descriptor, Features, from_json, registered_descriptors
from .chebyshev import ChebyshevDescriptor
from .correlations import Bispectrum, DensityCorrelations
from .mbtr import LocalMBTR
from .networks import DistanceMessagePassing, EquivariantMessagePassing
from .outputs import release_recycled_memory
from .overlap import OverlapMatrixFingerprint
from .pooling import Pooling
from .spectra import PowerSpectrum, RadialSpectrum
from .symmetry_functions import SymmetryFunctions
from .zernike import ZernikeDescriptor

__all__ = [
    "Bispectrum",
    "ChebyshevDescriptor",
    "DensityCorrelations",
    "Descriptor",
    "DistanceMessagePassing",
    "EquivariantMessagePassing",
    "Features",
    "LocalMBTR",
    "OverlapMatrixFingerprint",
    "Pooling",
    "PowerSpectrum",
    "RadialSpectrum",
    "SymmetryFunctions",
    "ZernikeDescriptor",
    "adapt",
    "from_json",
    "registered_descriptors",
    "release_recycled_memory",
    "repeated_calls",
]
