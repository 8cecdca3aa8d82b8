"""Vertex subsets of symmetric solids that distance-only message passing cannot separate.

Li, Wang, Huang and Zhang ("Is distance matrix enough for geometric deep learning?", NeurIPS
2023) and Li, Wang, Kang, Zhang ("On the completeness of invariant geometric deep learning
models", 2024) build their counterexamples to distance-only message passing from vertex subsets
of highly symmetric point sets: two subsets of equal size whose every vertex sees the same
multiset of distances (and so on, iteratively), although no isometry maps one onto the other.

:func:`enumerate_pairs` finds *all* such pairs of a point set, exhaustively:

1. the symmetry group of the point set (rotations and reflections) as vertex permutations
   (:func:`symmetry_permutations`): every orthogonal map fixed by three independent vertex
   images that maps the set onto itself;
2. every subset as a bit mask, canonicalised under the group (smallest image; byte lookup
   tables, vectorised), so each orbit of subsets is handled once;
3. cheap invariants bucket the orbits: the histogram of distance classes over the subset's
   pairs, then the geometric 1-WL colour histogram on the complete distance graph (colour
   refinement run to stability with one colour table per subset size, so histograms are
   comparable);
4. only orbits with equal 1-WL histograms get the exact congruence test (a distance-preserving
   bijection between the two subsets, found by backtracking within WL colour classes; two finite
   point sets are congruent exactly when such a bijection exists).

A *pair* is two different orbits of equal size with equal 1-WL histograms that are not
congruent. Complement maps orbits to orbits, so pairs ``{A, B}`` and ``{A^c, B^c}`` are counted
once "up to complement" when both are pairs. Distances are compared through the distance
classes of the whole point set (exact integers; distinct distances of the built-in sets differ by
far more than round-off).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import permutations, product

import numpy as np

from ..environments import InputError
from .pair import Claim, DegeneratePair, make_atoms

__all__ = [
    "LI_REFERENCE",
    "POINT_SETS",
    "EnumerationResult",
    "enumerate_pairs",
    "point_group",
    "point_set",
    "polyhedral_pair",
    "symmetry_permutations",
]

LI_REFERENCE = (
    "Z. Li, X. Wang, Y. Huang, M. Zhang, 'Is distance matrix enough for geometric deep "
    "learning?', NeurIPS 2023, doi:10.48550/arXiv.2302.05743; Z. Li, X. Wang, S. Kang, M. Zhang, "
    "'On the completeness of invariant geometric deep learning models', ICLR 2025, "
    "doi:10.48550/arXiv.2402.04836"
)

#: Largest point set the exhaustive enumerator accepts (2**n subsets are canonicalised).
MAX_POINTS = 22
#: Nearest-neighbour distance of every built-in point set (Å).
EDGE = 1.5
_GOLDEN = (1.0 + 5.0**0.5) / 2.0


def _cyclic(vectors) -> list:
    return [v[k:] + v[:k] for v in vectors for k in range(3)]


def _tetrahedron():
    return [(1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)]


def _cube():
    return list(product((-1, 1), repeat=3))


def _octahedron(radius=1.0):
    return [
        tuple(sign * radius * (i == axis) for i in range(3))
        for axis in range(3)
        for sign in (1, -1)
    ]


def _icosahedron():
    return _cyclic([(0, s1, s2 * _GOLDEN) for s1 in (-1, 1) for s2 in (-1, 1)])


def _dodecahedron():
    inner = _cyclic([(0, s1 / _GOLDEN, s2 * _GOLDEN) for s1 in (-1, 1) for s2 in (-1, 1)])
    return _cube() + inner


def _polygon(n: int, z: float = 0.0):
    angles = 2 * np.pi * np.arange(n) / n
    return [(np.cos(a), np.sin(a), z) for a in angles]


def _prism(n: int):
    side = 2 * np.sin(np.pi / n)  # edge of the unit-radius n-gon: square side faces
    return _polygon(n, -side / 2) + _polygon(n, side / 2)


def _rotated_cube(angle=np.pi / 4):
    c, s = np.cos(angle), np.sin(angle)
    return [(c * x - s * y, s * x + c * y, z) for x, y, z in _cube()]


#: Built-in point sets: name -> builder of the vertex list (scaled to EDGE afterwards).
POINT_SETS = {
    "tetrahedron": _tetrahedron,
    "cube": _cube,
    "octahedron": _octahedron,
    "icosahedron": _icosahedron,
    "dodecahedron": _dodecahedron,
    # the cube and the octahedron of the same circumradius (sqrt 3)
    "cube-octahedron": lambda: _cube() + _octahedron(3.0**0.5),
    # the cube and its copy turned by 45 degrees about a four-fold axis
    "cube-rotated-cube": lambda: _cube() + _rotated_cube(),
    **{f"polygon-{n}": (lambda n=n: _polygon(n)) for n in range(5, 13)},
    **{f"prism-{n}": (lambda n=n: _prism(n)) for n in range(3, 9)},
}


def point_set(name: str) -> np.ndarray:
    """The vertices of a built-in point set, centred, nearest-neighbour distance ``EDGE`` Å."""
    if name not in POINT_SETS:
        raise InputError(f"unknown point set {name!r}; use one of {sorted(POINT_SETS)}")
    points = np.asarray(POINT_SETS[name](), dtype=np.float64)
    points = points - points.mean(axis=0)
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    return points * (EDGE / d[d > 1e-9].min())


# --------------------------------------------------------------------------------------------
# symmetry group and distance classes
# --------------------------------------------------------------------------------------------


def _distance_classes(points: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """Integer matrix: equal entries for equal distances (diagonal -1)."""
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    values = np.sort(d[np.triu_indices(len(points), 1)])
    distinct = values[np.concatenate([[True], np.diff(values) > tolerance * values[-1]])]
    labels = np.searchsorted(distinct, d - tolerance * values[-1])
    np.fill_diagonal(labels, -1)
    return labels


def point_group(points, tolerance: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """The orthogonal maps that send the point set (centred at its centroid) onto itself.

    Returns ``(matrices, perms)``: ``matrices[g]`` (3 x 3, acting on column vectors) maps point
    ``i`` to point ``perms[g][i]``. The map is fixed by the images of linearly independent
    points (two and their cross product for a planar set, whose mirror plane is then added);
    each candidate image is tested against the whole set.
    """
    points = np.asarray(points, dtype=np.float64)
    points = points - points.mean(axis=0)
    scale = np.linalg.norm(points, axis=1).max()
    basis = _independent(points, tolerance * scale)
    planar = len(basis) == 2
    source = points[basis]
    if planar:
        source = np.vstack([source, np.cross(*source) / scale])
    gram = points @ points.T
    found: dict[tuple, np.ndarray] = {}
    for images in permutations(range(len(points)), len(basis)):
        if not np.allclose(
            gram[np.ix_(images, images)], gram[np.ix_(basis, basis)], atol=tolerance * scale**2
        ):
            continue
        target = points[list(images)]
        if planar:
            target = np.vstack([target, np.cross(*target) / scale])
        rotation = np.linalg.solve(source, target)  # x_row @ rotation maps source to target
        mapped = points @ rotation
        distance = np.linalg.norm(mapped[:, None] - points[None], axis=-1)
        perm = distance.argmin(axis=1)
        if distance[np.arange(len(points)), perm].max() < tolerance * scale and len(
            set(perm.tolist())
        ) == len(points):
            found[tuple(perm.tolist())] = rotation.T
    perms = sorted(found)
    matrices = np.array([found[p] for p in perms])
    perms = np.array(perms, dtype=np.int64)
    if planar:  # the reflection through the plane fixes every point
        normal = np.cross(*points[basis])
        normal /= np.linalg.norm(normal)
        mirror = np.eye(3) - 2.0 * np.outer(normal, normal)
        matrices = np.concatenate([matrices, mirror @ matrices])
        perms = np.concatenate([perms, perms])
    return matrices, perms


def symmetry_permutations(points, tolerance: float = 1e-6) -> np.ndarray:
    """Every vertex permutation induced by an orthogonal map (rotation or reflection) that maps
    the centred point set onto itself, as rows ``perm`` with vertex ``i`` sent to ``perm[i]``
    (see :func:`point_group`)."""
    return np.unique(point_group(points, tolerance)[1], axis=0)


def _independent(points: np.ndarray, tolerance: float) -> list[int]:
    chosen: list[int] = []
    for i in range(len(points)):
        trial = points[[*chosen, i]]
        if np.linalg.matrix_rank(trial, tol=tolerance) == len(chosen) + 1:
            chosen.append(i)
        if len(chosen) == 3:
            break
    if len(chosen) < 2:
        raise InputError("the point set is collinear; need a planar or 3D set")
    return chosen


# --------------------------------------------------------------------------------------------
# subsets as bit masks
# --------------------------------------------------------------------------------------------


def _permutation_tables(perms: np.ndarray, n: int) -> np.ndarray:
    """``tables[g, c, b]``: image under ``perms[g]`` of byte ``b`` at bit offset ``8 c``."""
    n_chunks = (n + 7) // 8
    tables = np.zeros((len(perms), n_chunks, 256), dtype=np.int64)
    byte = np.arange(256)
    for c in range(n_chunks):
        for j in range(8):
            i = 8 * c + j
            if i >= n:
                break
            bit = (byte >> j) & 1
            tables[:, c, :] |= bit[None, :] << perms[:, i][:, None]
    return tables


def _apply(tables: np.ndarray, g: int, masks: np.ndarray) -> np.ndarray:
    image = np.zeros_like(masks)
    for c in range(tables.shape[1]):
        image |= tables[g, c][(masks >> (8 * c)) & 255]
    return image


def _canonical(masks: np.ndarray, tables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The smallest image of each mask under the group, and how many elements fix it."""
    canonical = masks.copy()
    fixed = np.zeros(len(masks), dtype=np.int64)
    for g in range(len(tables)):
        image = _apply(tables, g, masks)
        np.minimum(canonical, image, out=canonical)
        fixed += image == masks
    return canonical, fixed


def _orbits(masks: np.ndarray, tables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orbit representatives (the smallest image) among ``masks`` and each orbit's size."""
    canonical, fixed = _canonical(masks, tables)
    keep = canonical == masks
    return masks[keep], len(tables) // fixed[keep]


def _members(mask: int, n: int) -> list[int]:
    return [i for i in range(n) if (mask >> i) & 1]


def _popcount(values: np.ndarray) -> np.ndarray:
    count = np.zeros(len(values), dtype=np.int64)
    for shift in range(0, 64, 8):
        count += _BYTE_POPCOUNT[(values >> shift) & 255]
    return count


_BYTE_POPCOUNT = np.array([bin(b).count("1") for b in range(256)], dtype=np.int64)


# --------------------------------------------------------------------------------------------
# invariants and the exact congruence test
# --------------------------------------------------------------------------------------------


def _distance_histograms(masks: np.ndarray, labels: np.ndarray) -> np.ndarray:
    n = len(labels)
    n_labels = int(labels.max()) + 1
    counts = np.zeros((len(masks), n_labels), dtype=np.int64)
    for i in range(n):
        for j in range(i + 1, n):
            counts[:, labels[i, j]] += ((masks >> i) & (masks >> j)) & 1
    return counts


def _wl_colours(members: list[int], labels: np.ndarray, palette: dict) -> tuple[int, list[int]]:
    """Geometric 1-WL colours (complete graph) with a shared ``palette``, refined until stable.

    Returns the first round ``t`` whose partition equals that of round ``t - 1`` and the colours
    of round ``t``. Two subsets are never separated iff their (t, colour histogram) agree: a
    colour contains the previous round's colour, so equal histograms at a stable round give the
    other subset a stable round too, the same map from old to new colours, and hence equal
    histograms in every later round.
    """
    sub = labels[np.ix_(members, members)]
    k = len(members)
    width = int(labels.max()) + 2
    off_diagonal = ~np.eye(k, dtype=bool)
    colours = np.zeros(k, dtype=np.int64)
    n_classes, round_ = 1, 0
    while True:
        round_ += 1
        rows = np.sort((colours[None, :] * width + sub)[off_diagonal].reshape(k, k - 1), axis=1)
        colours = np.array(
            [
                palette.setdefault((round_, int(colours[i]), rows[i].tobytes()), len(palette))
                for i in range(k)
            ]
        )
        classes = len(set(colours.tolist()))
        if classes == n_classes:
            return round_, colours.tolist()
        n_classes = classes


def _isometric(a: list[int], b: list[int], labels: np.ndarray, colours_a, colours_b) -> bool:
    """Whether a distance-preserving bijection maps subset ``a`` onto ``b`` (backtracking)."""
    da, db = labels[np.ix_(a, a)], labels[np.ix_(b, b)]
    k = len(a)
    image = [-1] * k
    used = [False] * k

    def extend(i: int) -> bool:
        if i == k:
            return True
        for j in range(k):
            if used[j] or colours_b[j] != colours_a[i]:
                continue
            if all(da[i, p] == db[j, image[p]] for p in range(i)):
                image[i], used[j] = j, True
                if extend(i + 1):
                    return True
                used[j] = False
        return False

    return extend(0)


# --------------------------------------------------------------------------------------------
# the enumerator
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeCount:
    """Counts for one subset size ``k``."""

    size: int
    orbits: int  # subsets up to symmetry
    pairs: int  # labelled pairs of subsets (sum of orbit-size products)
    pairs_up_to_symmetry: int  # unordered pairs of orbits
    wl_classes: int  # 1-WL classes holding at least two non-congruent orbits


@dataclass
class EnumerationResult:
    """What :func:`enumerate_pairs` found for one point set."""

    name: str
    n_points: int
    group_order: int
    sizes: list[SizeCount]
    #: every pair up to symmetry: (size, mask a, mask b), a < b (orbit representatives)
    pairs: list[tuple[int, int, int]] = field(repr=False)
    pairs_up_to_complement: int
    seconds: float

    def table_lines(self) -> list[str]:
        lines = [
            f"{self.name}: {self.n_points} points, symmetry group of order {self.group_order}, "
            f"{self.seconds:.2f} s",
            "  size  orbits  pairs  up-to-symmetry  WL-classes",
        ]
        for s in self.sizes:
            lines.append(
                f"  {s.size:4d}  {s.orbits:6d}  {s.pairs:5d}  {s.pairs_up_to_symmetry:14d}  "
                f"{s.wl_classes:10d}"
            )
        lines.append(
            f"  total {sum(s.pairs_up_to_symmetry for s in self.sizes)} pairs up to symmetry, "
            f"{self.pairs_up_to_complement} up to symmetry and complement"
        )
        return lines


def enumerate_pairs(points, name: str = "", sizes=None) -> EnumerationResult:
    """Every pair of equal-size vertex subsets of ``points`` (a name of :data:`POINT_SETS` or an
    (n, 3) array, n <= MAX_POINTS) that geometric 1-WL on the complete distance graph never
    separates although they are not congruent, up to the symmetry group of the point set.

    ``sizes`` restricts the subset sizes (default 2..n-2).
    """
    start = time.perf_counter()
    if isinstance(points, str):
        name = name or points
        points = point_set(points)
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or not 3 <= len(points) <= MAX_POINTS:
        raise InputError(
            f"points must be an (n, 3) array with 3 <= n <= {MAX_POINTS}, got shape {points.shape}"
        )
    n = len(points)
    labels = _distance_classes(points)
    perms = symmetry_permutations(points)
    tables = _permutation_tables(perms, n)
    everything = np.arange(1 << n, dtype=np.int64)
    popcount = _popcount(everything)
    counts, pairs = [], []
    for k in range(2, n - 1) if sizes is None else sorted({int(k) for k in sizes}):
        count, found = _pairs_of_size(k, everything[popcount == k], tables, labels)
        counts.append(count)
        pairs.extend(found)
    return EnumerationResult(
        name=name or "points",
        n_points=n,
        group_order=len(perms),
        sizes=counts,
        pairs=sorted(pairs),
        pairs_up_to_complement=_up_to_complement(pairs, n, tables),
        seconds=time.perf_counter() - start,
    )


def _pairs_of_size(k: int, masks: np.ndarray, tables: np.ndarray, labels: np.ndarray):
    """The :class:`SizeCount` of the k-subsets ``masks`` and their pairs ``(k, a, b)``."""
    n = len(labels)
    reps, orbit_sizes = _orbits(masks, tables)
    buckets: dict[bytes, list[int]] = {}
    for index, row in enumerate(_distance_histograms(reps, labels)):
        buckets.setdefault(row.tobytes(), []).append(index)
    palette: dict = {}
    pairs, n_labelled, n_classes = [], 0, 0
    for bucket in (b for b in buckets.values() if len(b) > 1):
        by_wl: dict[tuple, list] = {}
        for index in bucket:
            members = _members(int(reps[index]), n)
            round_, colours = _wl_colours(members, labels, palette)
            by_wl.setdefault((round_, tuple(sorted(colours))), []).append((index, members, colours))
        for group in by_wl.values():
            before = len(pairs)
            for x, (ia, a, ca) in enumerate(group):
                for ib, b, cb in group[x + 1 :]:
                    if not _isometric(a, b, labels, ca, cb):
                        n_labelled += int(orbit_sizes[ia] * orbit_sizes[ib])
                        pairs.append((k, *sorted((int(reps[ia]), int(reps[ib])))))
            n_classes += len(pairs) > before
    return SizeCount(k, len(reps), n_labelled, len(pairs), n_classes), pairs


def _up_to_complement(pairs, n: int, tables: np.ndarray) -> int:
    """Number of pairs when ``{A, B}`` and ``{A^c, B^c}`` (both pairs) count once."""
    if not pairs:
        return 0
    full = (1 << n) - 1
    complements = np.array([[full ^ a, full ^ b] for _k, a, b in pairs], dtype=np.int64)
    canonical = _canonical(complements.ravel(), tables)[0].reshape(-1, 2)
    keys = set(pairs)
    distinct = 0
    for (k, a, b), (ca, cb) in zip(pairs, canonical.tolist(), strict=True):
        complement = (n - k, *sorted((ca, cb)))
        distinct += not (complement in keys and complement < (k, a, b))  # once, at the smaller
    return distinct


# --------------------------------------------------------------------------------------------
# catalog pairs
# --------------------------------------------------------------------------------------------


def polyhedral_pair(solid: str, plus_vertices, minus_vertices, symbol: str = "C") -> DegeneratePair:
    """The vertex subsets ``plus_vertices`` and ``minus_vertices`` of the built-in point set
    ``solid`` as a global pair (equal distance multisets, 1-WL never separates them, not
    congruent; checked by :func:`completeness.structures.verify`)."""
    points = point_set(solid)
    plus_vertices, minus_vertices = sorted(plus_vertices), sorted(minus_vertices)
    for vertices in (plus_vertices, minus_vertices):
        if len(set(vertices)) != len(vertices) or not all(0 <= v < len(points) for v in vertices):
            raise InputError(
                f"vertices of {solid} must be distinct indices in 0..{len(points) - 1}, got "
                f"{vertices}"
            )
    if len(plus_vertices) != len(minus_vertices):
        raise InputError("the two vertex subsets must have the same size")
    k = len(plus_vertices)
    tag = "-".join("".join(f"{v:02d}" for v in vs) for vs in (plus_vertices, minus_vertices))
    return DegeneratePair(
        name=f"li2023-{solid}-{k}",
        plus=make_atoms(symbol * k, points[plus_vertices]),
        minus=make_atoms(symbol * k, points[minus_vertices]),
        claim=Claim(
            scope="global",
            equal_up_to_o3=2,
            equal_up_to_so3=2,
            statement=(
                f"two {k}-vertex subsets of the {solid.replace('-', ' + ')} (vertices {tag}): "
                "equal distance multisets, geometric 1-WL (complete graph) never separates "
                "them, not congruent"
            ),
            wl_iteration=None,
            wl_cutoff=None,
        ),
        params={"solid": solid, "plus_vertices": plus_vertices, "minus_vertices": minus_vertices},
        reference=LI_REFERENCE,
        family="global-message-passing",
    )
