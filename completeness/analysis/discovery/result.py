"""Found pairs, the result of a search and its files in the catalog's format."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from ...environments import InputError
from ...io import json_safe, json_text
from .family import FamilyDimension
from .search import Candidate, SearchSettings

# --------------------------------------------------------------------------------------------
# the search
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FoundPair:
    """A degenerate pair found by :func:`discover`, polished, classified and merged.

    ``kind``: ``"body-order"`` when the oracle's O(3) signatures agree at least up to the
    descriptor's body order (a blind spot of every descriptor of that body order), ``"basis"``
    when they differ at or below it (a blind spot of this finite basis only). ``restarts`` lists
    every restart that found this pair (up to congruence).

    The search finds the second kind readily when the basis is small: with every neighbour on
    one sphere of radius ``r`` the power spectrum reduces to
    ``p_{nn'l} = R_{nl}(r) R_{n'l}(r) sum_m |sum_j Y_lm(r_j)|^2``: the ``max_angular + 1`` angular
    powers of the pattern, too few numbers to fix ``2n - 3`` angles (measured: with
    ``max_angular = 4`` and 4 neighbours these pairs have a 9-dimensional family; a basis with
    ``max_angular = 8`` resolves them by 10+ decades).
    """

    pair: object  # completeness.structures.DegeneratePair
    order: object  # completeness.oracle.DegeneracyOrder
    kind: str
    candidate: Candidate
    family: FamilyDimension
    restarts: tuple[int, ...]

    def to_dict(self) -> dict:
        return {
            "name": self.pair.name,
            "kind": self.kind,
            "equal_up_to_o3": int(self.order.o3),
            "equal_up_to_so3": int(self.order.so3),
            "max_checked": int(self.order.max_checked),
            "claim": self.pair.claim.statement,
            "distance": self.candidate.distance,
            "noise_floor": self.candidate.floor,
            "margin": self.candidate.margin,
            "separation": self.candidate.separation,
            "oracle_rmsd": float(self.order.congruence.rmsd),
            "family": self.family.to_dict(),
            "restarts": list(self.restarts),
        }


@dataclass(frozen=True, eq=False)
class DiscoveryResult:
    """Everything :func:`discover` measured; :meth:`write` saves it as a catalog directory."""

    descriptor: str
    hypers: dict
    body_order: int | None
    parity: str | None
    settings: SearchSettings
    seed: int
    candidates: list
    pairs: list
    seconds: float

    @property
    def best(self) -> Candidate | None:
        """The candidate that came closest (smallest margin over its floor)."""
        finite = [c for c in self.candidates if math.isfinite(c.margin)]
        return min(finite, key=lambda c: c.margin) if finite else None

    def summary(self) -> dict:
        kinds: dict[str, int] = {}
        for found in self.pairs:
            kinds[found.kind] = kinds.get(found.kind, 0) + 1
        best = self.best
        return {
            "descriptor": self.descriptor,
            "hypers": json_safe(self.hypers),
            "body_order": self.body_order,
            "parity": self.parity,
            "settings": json_safe(asdict(self.settings)),
            "seed": self.seed,
            "restarts": len(self.candidates),
            "degenerate_candidates": sum(c.kept for c in self.candidates),
            "distinct_pairs": len(self.pairs),
            "pairs_by_kind": kinds,
            "family_dimensions": sorted(
                {int(p.family.dimension) for p in self.pairs if p.kind == "body-order"}
            ),
            "best_distance": None if best is None else best.distance,
            "best_margin": None if best is None else best.margin,
            "seconds": self.seconds,
        }

    def to_dict(self) -> dict:
        out = self.summary()
        out["pairs"] = [found.to_dict() for found in self.pairs]
        out["candidates"] = [
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in c.to_dict().items()
            }
            for c in self.candidates
        ]
        return out

    def write(self, out) -> list[Path]:
        """Write the pairs in the catalog's format into directory ``out`` (created).

        ``<name>.extxyz`` (frame 0 ``+``, frame 1 ``-``, with the claim in ``info``),
        ``index.json`` (the catalog's format), ``README.md`` (the catalog's table) and
        ``discovery.json`` (this search: settings, every candidate, family dimensions).
        """
        from ...structures.catalog import pair_entry, write_catalog_files

        out = Path(out)
        if out.exists() and not out.is_dir():
            raise InputError(f"{out} exists and is not a directory; choose another --out")
        out.mkdir(parents=True, exist_ok=True)
        paths = write_catalog_files(
            out, [(pair_entry(found.pair), found.pair) for found in self.pairs]
        )
        text = json_text(json_safe(self.to_dict()), indent=2, sort_keys=True)
        (out / "discovery.json").write_text(text, encoding="utf-8")
        return [*paths, out / "discovery.json"]


DISCOVERY_REFERENCE = (
    "found by completeness.analysis.discovery (random-restart search, polished to the noise floor, "
    "classified by the basis-free oracle); the 3-body family it rediscovers: Pozdnyakov et al., "
    "Phys. Rev. Lett. 125, 166001 (2020), doi:10.1103/PhysRevLett.125.166001"
)


def same_pair(first, second, reflections: bool) -> bool:
    from ...oracle import congruent

    def same(x, y):
        return bool(congruent(x, y, allow_reflection=reflections).congruent)

    a, b = first
    c, d = second
    return (same(a, c) and same(b, d)) or (same(a, d) and same(b, c))
