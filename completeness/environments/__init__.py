"""Centred atomic environments, and all input validation.

An *environment* is what an atom-centred descriptor sees: the species of a centre atom, and the
vectors ``r_ij = r_j - r_i`` (with periodic images) to every neighbour ``j`` closer than a cutoff,
together with the species of each neighbour and which atom of the system it is (so that gradients
can be assigned to atoms).

Two shapes are provided:

* :class:`Environment`: one centre, used by the oracle and by users who build environments
  directly from neighbour vectors (:meth:`Environment.from_vectors`).
* :class:`Neighbourhoods`: many centres from many systems flattened into one array of pairs, the
  layout that the descriptors vectorise over.

Every public entry point of the package that accepts structures funnels them through
:func:`check_systems`, so bad input fails here, early, with a one-line message that names the
problem and the fix.

The package is split by concept: :mod:`.checks` (validation of every input),
:mod:`.pairs` (neighbour pairs of one system), :mod:`.one_centre` (:class:`Environment`) and
:mod:`.many_centres` (:class:`Neighbourhoods`). It imports only :mod:`completeness.errors` of the
package (its floors: docs/architecture.md).
"""

from ..errors import InputError
from .checks import (
    COINCIDENT_TOLERANCE,
    MAX_NEIGHBOUR_PAIRS,
    MIN_CUTOFF,
    atomic_number,
    centres_per_system,
    centres_per_system_fast,
    check_atomic_numbers,
    check_cutoff,
    check_systems,
    estimate_pairs,
    read_structures,
)
from .many_centres import Neighbourhoods, build_neighbourhoods
from .one_centre import Environment, environment

__all__ = [
    "COINCIDENT_TOLERANCE",
    "MAX_NEIGHBOUR_PAIRS",
    "MIN_CUTOFF",
    "Environment",
    "InputError",
    "Neighbourhoods",
    "atomic_number",
    "build_neighbourhoods",
    "centres_per_system",
    "centres_per_system_fast",
    "check_atomic_numbers",
    "check_cutoff",
    "check_systems",
    "environment",
    "estimate_pairs",
    "read_structures",
]
