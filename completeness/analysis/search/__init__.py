"""Search a data set for a descriptor's false negatives: close in feature space, far apart in space.

Given many structures (a training set, an MD trajectory), :func:`search` finds pairs of atomic
environments whose features are nearly equal while the environments themselves are not: the
places where a model built on the descriptor cannot tell two different geometries apart.

Steps
-----
1. Features and radial fingerprints of every environment (:mod:`.environments`), streamed: the
   descriptor's ``compute`` runs on batches of systems that
   :func:`completeness.parallel.parallel_map` may spread over processes or dask workers, a few
   batches per worker at a time, appended to a temporary file read back as a memory map.
   Neighbour lists are not kept: the fingerprint of an environment is a few sorted radii.
2. Candidates (:mod:`.neighbours`): the ``k`` nearest neighbours in feature space of every
   environment, among environments with the same centre species (Euclidean; by default on the
   16 leading principal components, with an exact k-d tree, or above 200,000 environments an
   approximate index re-ranked in the full space), as unordered pairs; their relative feature
   distance ``d = ||f_i - f_j|| / max(||f_i||, ||f_j||)`` (as in
   :mod:`completeness.analysis.distance`).
3. The structural distance of the candidates (:mod:`.alignment`): a cheap lower bound for all of
   them, the full alignment for at most ``max_alignments`` of them (half with the largest
   ``bound / d``, half with the smallest ``d``: an exactly degenerate pair has ``d`` at
   round-off), on neighbour lists rebuilt for those environments only.
4. Ranking by ``score = D / d`` (Å per unit of relative feature distance): the inverse of the
   descriptor's local sensitivity on that pair. Pairs with ``D >= min_structural`` and the largest
   scores are the false negatives; ``score / median score`` says how much less sensitive the
   descriptor is there than on a typical nearby pair of the same data (:mod:`.result`).

Cost: features and fingerprints are linear in the number of environments ``N``; memory holds the
fingerprints, the query space and the index, and the features (8 bytes per feature and
environment, on disk) are paged in when candidate distances are computed;
the exact k-d tree query grows faster than ``N log N`` (``O(N^2)`` brute force with
``n_components=None``), the approximate index about as ``N log N``; the alignments are bounded by
``max_alignments`` (``benchmarks/search_scaling.py`` measures the exponents, and a search of a
million environments with ``--million``).
"""

from .alignment import align_environments, structural_distance
from .environments import EnvironmentSet, RadialFingerprints, radial_bound
from .neighbours import INDEXES
from .pipeline import read_systems, search
from .result import SearchResult

__all__ = [
    "INDEXES",
    "EnvironmentSet",
    "RadialFingerprints",
    "SearchResult",
    "align_environments",
    "radial_bound",
    "read_systems",
    "search",
    "structural_distance",
]
