"""The two objects every generator returns: :class:`Claim` and :class:`DegeneratePair`.

A *degenerate pair* is two structures that some class of invariant features cannot tell apart
although they are not congruent. Its :class:`Claim` says which features, in terms the
basis-free oracle (:mod:`completeness.oracle`) can check exactly:

* ``scope="environment"``: atom 0 of each member is the centre and every other atom is a
  neighbour. ``equal_up_to_o3`` is the highest body order ``k`` (``1..max_checked``) whose
  O(3) k-body signatures agree, ``equal_up_to_so3`` the same for the oriented (SO(3))
  signatures. ``equal_up_to_o3 == max_checked`` means "equal at every order checked" (mirror
  images), and then the members must be related by a reflection, never by a rotation.
* ``scope="global"``: the whole clouds are compared. ``equal_up_to_o3 = equal_up_to_so3 = 2``
  means the full multisets of interatomic distances agree (``1``: they differ, only the
  species counts agree). ``wl_iteration`` is the first iteration at which distance-only
  message passing (geometric 1-WL) with ``wl_cutoff`` separates the clouds, ``None`` for never
  within ``wl_max_iterations``.

One model for every pair: catalog pairs (``kind="catalog"``, built by the generators of this
package), pairs a user gives (``kind="user"``, :func:`completeness.structures.user_pair`) and
pairs found by a search (``kind="discovered"``). One scope rule: in environment scope atom 0 of
each member is the centre and every other atom a neighbour, in global scope every atom counts.
One geometry convention, the *extent* (:meth:`DegeneratePair.max_distance`): the farthest
neighbour from the centre (environment) or the largest interatomic distance (global: a
descriptor sees the whole cloud only when every atom sees every other one).

Scale. A descriptor with a cutoff judges a catalog pair at one similarity scale, chosen once
per pair and recorded: :meth:`DegeneratePair.fitted` puts the pair's extent at
``NEIGHBOUR_FRACTION * cutoff`` (every atom well inside, where smooth cutoff functions are
still informative) and records the factor in ``params["scale_factor"]``. A similarity keeps
every claim. A user's pair is never rescaled: its coordinates are the question
asked, and the descriptor's cutoff decides which atoms count (``fitted`` returns it unchanged).

Resolution. ``resolution`` is the length (Å) to which the members' coordinates are known: None
for pairs built in memory (float64 round-off, :func:`completeness.oracle.float64_resolution`),
the written precision for pairs read from files. The oracle's claim and the verdict's noise
floor are both taken at this resolution (see :mod:`completeness.analysis.distance`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

import ase
import numpy as np

from ..environments import InputError
from ..io import json_safe

__all__ = [
    "NEIGHBOUR_FRACTION",
    "Claim",
    "ClaimError",
    "DegeneratePair",
    "make_atoms",
    "min_gap",
    "random_shell",
]

SCOPES = ("environment", "global")
KINDS = ("catalog", "user", "discovered")
#: A catalog pair's extent is put at this fraction of a descriptor's cutoff (see the module doc).
NEIGHBOUR_FRACTION = 0.8


class ClaimError(InputError):
    """A pair's claim is contradicted by the oracle, or its members are congruent."""


@dataclass(frozen=True)
class Claim:
    """What a degenerate pair is claimed to be (checked by :func:`completeness.structures.verify`).

    Attributes
    ----------
    scope : {"environment", "global"}
    equal_up_to_o3, equal_up_to_so3 : int
        Highest body order whose O(3) (resp. oriented, SO(3)) signatures agree; see the module
        docstring for the global meaning.
    statement : str
        One sentence in words.
    max_checked : int
        Highest body order checked (environment scope).
    wl_iteration : int or None
        Global scope: first geometric 1-WL iteration that separates the clouds (None = never).
    wl_cutoff : float or None
        Global scope: graph cutoff of the 1-WL test in Å (None = complete graph).
    wl_max_iterations : int
    equivariant_hops : int or None
        Global scope, literature value only (not checked by the distance-only oracle): number of
        message-passing hops an *equivariant* network needs, as stated by the source.
    marginal_o3, marginal_so3 : int or None
        Pairs judged at a finite resolution (user pairs): the highest body order whose
        signatures agree within ``MARGINAL_FACTOR`` times the oracle's tolerance. Orders above
        ``equal_up_to_*`` and up to these differ by an amount comparable to the resolution:
        neither equal nor resolvable. None for exact (catalog) claims.
    """

    scope: str
    equal_up_to_o3: int
    equal_up_to_so3: int
    statement: str
    max_checked: int = 5
    wl_iteration: int | None = None
    wl_cutoff: float | None = None
    wl_max_iterations: int = 10
    equivariant_hops: int | None = None
    marginal_o3: int | None = None
    marginal_so3: int | None = None

    def __post_init__(self):
        if self.scope not in SCOPES:
            raise InputError(f"claim scope must be one of {SCOPES}, got {self.scope!r}")
        if self.equal_up_to_so3 > self.equal_up_to_o3:
            raise InputError(
                "equal_up_to_so3 cannot exceed equal_up_to_o3: oriented signatures refine "
                "the unoriented ones"
            )

    @classmethod
    def environment(cls, order: int, statement: str, *, so3: int | None = None, **fields) -> Claim:
        """An environment-scope claim: signatures equal up to body order ``order`` (O(3)) and
        ``so3`` (SO(3); default the same); ``fields``: the other attributes."""
        return cls("environment", order, order if so3 is None else so3, statement, **fields)

    @property
    def parity_only(self) -> bool:
        """True for mirror images: O(3) equal at every checked order, SO(3) not."""
        return (
            self.scope == "environment"
            and self.equal_up_to_o3 >= self.max_checked
            and self.equal_up_to_so3 < self.max_checked
        )

    def as_dict(self) -> dict:
        """The fields as a dict (the marginal orders only when set: exact claims omit them)."""
        fields = asdict(self)
        for key in ("marginal_o3", "marginal_so3"):
            if fields[key] is None:
                del fields[key]
        return fields


def make_atoms(symbols, positions) -> ase.Atoms:
    """A finite cluster (no cell, no periodicity) from symbols and positions in Å."""
    return ase.Atoms(symbols=symbols, positions=np.asarray(positions, dtype=np.float64))


def min_gap(positions) -> float:
    """The smallest distance (Å) between two of ``positions`` (an (n, 3) array, n >= 2)."""
    positions = np.asarray(positions)
    gaps = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    return float(gaps[np.triu_indices(len(positions), 1)].min())


def random_shell(rng, n_neighbours: int, radii, min_separation: float, attempts: int = 1000):
    """Positions of a centre at the origin and ``n_neighbours`` neighbours along uniformly random
    directions, redrawn until every two atoms are ``min_separation`` Å apart; None when
    ``attempts`` draws all fail. ``radii``: the neighbours' distances, or a callable that draws
    them after each draw of directions."""
    for _attempt in range(attempts):
        directions = rng.normal(size=(n_neighbours, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        distances = radii() if callable(radii) else radii
        positions = np.vstack([np.zeros(3), directions * distances[:, None]])
        if min_gap(positions) >= min_separation:
            return positions
    return None


@dataclass(frozen=True)
class DegeneratePair:
    """Two non-congruent structures that a class of invariant features cannot separate.

    Attributes
    ----------
    name : str
        Registry name (``completeness.structures.load(name)``).
    plus, minus : ase.Atoms
        The members. Their ``info`` carries the provenance (family, pair, member, claim,
        parameters as JSON, reference), so files written from them are self-describing.
    claim : Claim
    params : dict
        The generator's parameters (JSON-serialisable), enough to regenerate the pair.
    reference : str
        Source, with DOI.
    family : str
        Class of the pair (one of the families of docs/science.md §2).
    """

    name: str
    plus: ase.Atoms
    minus: ase.Atoms
    claim: Claim
    params: dict
    reference: str
    family: str = ""
    kind: str = "catalog"
    resolution: float | None = None
    notes: tuple = ()

    def __post_init__(self):
        for label, atoms in (("plus", self.plus), ("minus", self.minus)):
            if not isinstance(atoms, ase.Atoms):
                raise InputError(f"DegeneratePair.{label} must be an ase.Atoms")
        if self.kind not in KINDS:
            raise InputError(f"pair kind must be one of {KINDS}, got {self.kind!r}")
        if self.resolution is not None and not (
            np.isfinite(self.resolution) and self.resolution > 0
        ):
            raise InputError(f"resolution must be a positive number of Å, got {self.resolution}")
        same = sorted(self.plus.numbers.tolist()) == sorted(self.minus.numbers.tolist())
        if not same and not self.params.get("composition_change", False):
            raise InputError(
                f"pair {self.name!r}: members have different species; a degenerate pair "
                "needs the same atoms arranged differently"
            )
        object.__setattr__(self, "params", json_safe(dict(self.params)))
        for member, atoms in (("+", self.plus), ("-", self.minus)):
            atoms.info.clear()
            atoms.info.update(self._info(member))

    def _info(self, member: str) -> dict:
        info = {
            "family": self.family,
            "pair": self.name,
            "member": member,
        }
        for key, value in self.claim.as_dict().items():
            if value is not None:
                info[f"claim_{key}"] = value
        info["params"] = json.dumps(self.params, sort_keys=True)
        info["reference"] = self.reference
        return info

    @property
    def members(self) -> tuple[ase.Atoms, ase.Atoms]:
        return self.plus, self.minus

    def _origin(self, atoms: ase.Atoms) -> np.ndarray:
        if self.claim.scope == "environment":
            return atoms.positions[0]
        return atoms.positions.mean(axis=0)

    def max_distance(self) -> float:
        """The extent: farthest neighbour from the centre (environment) or largest interatomic
        distance (global)."""
        return max(extent_of(atoms, self.claim.scope) for atoms in self.members)

    def fitted(self, cutoff: float | None) -> DegeneratePair:
        """The pair as a descriptor with ``cutoff`` judges it (see the module docstring).

        Catalog and discovered pairs whose extent exceeds ``NEIGHBOUR_FRACTION * cutoff`` are
        scaled to it (the factor is in ``params["scale_factor"]``); user pairs and pairs already
        inside are returned unchanged.
        """
        if cutoff is None or self.kind == "user":
            return self
        extent = self.max_distance()
        if extent <= NEIGHBOUR_FRACTION * cutoff:
            return self
        return self.scaled(NEIGHBOUR_FRACTION * cutoff)

    @property
    def scale_factor(self) -> float:
        """The similarity factor applied to the generated coordinates (1 when not scaled)."""
        return float(self.params.get("scale_factor", 1.0))

    def scaled(self, max_distance: float) -> DegeneratePair:
        """A copy uniformly rescaled about the centre so that the extent is ``max_distance`` Å
        (global scope: about the centroid, largest interatomic distance).

        A similarity keeps every claim: signatures are compared after scaling both members
        alike, and congruence is scale-covariant.
        """
        max_distance = float(max_distance)
        if not np.isfinite(max_distance) or max_distance <= 0:
            raise InputError(f"max_distance must be a positive number of Å, got {max_distance}")
        factor = max_distance / self.max_distance()
        members = []
        for atoms in self.members:
            origin = self._origin(atoms)
            copy = atoms.copy()
            copy.positions = origin + (atoms.positions - origin) * factor
            members.append(copy)
        params = dict(self.params)
        params["scale_factor"] = factor * float(self.params.get("scale_factor", 1.0))
        claim = self.claim
        if claim.wl_cutoff is not None:
            claim = replace(claim, wl_cutoff=claim.wl_cutoff * factor)
        resolution = None if self.resolution is None else self.resolution * factor
        return replace(
            self,
            plus=members[0],
            minus=members[1],
            params=params,
            claim=claim,
            resolution=resolution,
        )


def extent_of(atoms: ase.Atoms, scope: str) -> float:
    """Farthest neighbour from atom 0 (environment) or largest interatomic distance (global)."""
    positions = np.asarray(atoms.positions, dtype=np.float64)
    if len(positions) < 2:
        return 0.0
    if scope == "environment":
        return float(np.linalg.norm(positions[1:] - positions[0], axis=1).max())
    diff = positions[:, None, :] - positions[None, :, :]
    return float(np.sqrt(np.einsum("ija,ija->ij", diff, diff)).max())
