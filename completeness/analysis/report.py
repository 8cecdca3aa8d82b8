"""A descriptor's report card against the six criteria of a good descriptor.

:func:`report_card` measures, for any descriptor (a :class:`~completeness.descriptors.Descriptor`,
an object with ``compute`` or a callable ``(positions, numbers) -> vector``, see
:mod:`completeness.descriptors.user`):

1. **invariance** -- the largest relative change under random rotations, permutations (centre
   kept) and translations of a few random two-species environments (one with neighbours 1e-4,
   1e-3 and 1e-2 Å inside the cutoff), and under a mirror of a chiral environment; compared
   with the declared parity (``O(3)``: mirror invariant). Threshold: a change above
   ``INVARIANCE_TOLERANCE`` = 1e-8 (half the digits of float64) is a broken invariance, far
   above any round-off.
2. **uniqueness** -- the verdict (:mod:`completeness.analysis.distance`) on every catalog pair,
   and the highest body order resolved: ``1 + max(claim.equal_up_to_o3)`` over the resolved
   environment pairs that differ at some O(3) order (mirror images excluded), and ``1 +
   max(claim.equal_up_to_so3)`` over all resolved environment pairs (SO(3)); likewise the
   lowest body order at which a difference is missed (``1 + min`` over degenerate pairs). A
   pair the claim says the descriptor cannot resolve, and that it resolves, is a contradiction;
   a pair it could resolve but does not is a basis-limited finding. A median noise floor above
   ``SINGLE_PRECISION_FLOOR`` (float32's epsilon / 100 = 1.2e-9; float64 floors are ~1e-15) is
   a finding: the descriptor computes in single precision, and pairs closer than ~100x that
   floor cannot read as resolved.
3. **continuity** -- the jump when an atom crosses the cutoff: the relative distance between the
   environment with a neighbour at ``cutoff - eps`` and at ``cutoff + eps``, for eps = 1e-4 and
   1e-6 Å. Continuous when the jump shrinks by at least 10x between the two (it scales with eps
   or faster) or is at round-off (below ``ROUNDOFF_JUMP`` = 1e-12 at eps = 1e-6, where a smooth
   cutoff leaves nothing but float64 noise that cannot shrink); discontinuous otherwise.
   Gradients against central finite differences (on an environment with neighbours 1e-4, 1e-3
   and 1e-2 Å inside the cutoff; step 1e-5 Å or a quarter of the smallest gap to the cutoff,
   :func:`completeness.testing.finite_difference_step`; all displaced structures in one
   ``compute`` call, the same formula as
   :func:`completeness.testing.finite_difference_gradients`); above ``GRADIENT_TOLERANCE`` =
   1e-5 relative is a finding. Two neighbours meeting: one neighbour placed at distance eps from
   another, from six random directions, for eps = 1e-3 and 1e-5 Å; a continuous descriptor's
   features then differ by O(eps) across the directions, so the spread shrinks with eps. When
   it does not shrink at least 10x (and is above the same round-off ``ROUNDOFF_JUMP`` at eps =
   1e-5 Å), the features depend on the direction from which the two approach each other (a
   discontinuity where neighbours coincide, with gradients growing as 1/distance): a finding.
   Also the sensitivity at the fold point of the PRL family
   (:func:`completeness.analysis.scan.fold_scan`, delta = 1e-4..1e-1 Å): the exponent ``k`` of
   ``d(X(0), X(delta)) ~ delta**k`` (2 = quadratic, insensitive; 1 = linear).
4. **efficiency** -- environments per second for values and for values + gradients on a seeded
   benchmark set (centre + 12 neighbours uniform in a 4 Å ball; up to 128 environments for
   values, 32 with gradients), and the exponent ``p`` of ``time ~ n_neighbours**p`` over 8..64
   neighbours (up to 64 environments each). Each batch is sized to take about 0.05 s (at least
   4 environments), so a slow descriptor is timed on fewer environments; best of two runs, one
   when a run takes over 0.25 s. Timings are machine dependent: they are kept apart
   (``ReportCard.timings``) so everything else is reproducible bit for bit.
5. **structure** -- fixed length (the same ``n_features`` for 2, 6 and 20 neighbours), and
   ``n_features`` for 1..4 species with the exponent ``q`` of ``n_features ~ n_species**q``.
6. **generality** -- several species (4 in one environment), a periodic cell (diamond Si, every
   atom equivalent: their features must agree), and empty environments (a lone atom; an atom
   whose only neighbour is beyond the cutoff).

Every measurement that raises becomes a *finding* carrying the exception's message; the card is
always produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..descriptors.user import UserDescriptor, as_descriptor
from ..errors import one_line
from ..io import json_safe
from . import criteria
from .criteria import GRADIENT_TOLERANCE, INVARIANCE_TOLERANCE
from .distance import verdicts
from .inference import infer_body_order_and_parity

__all__ = [
    "GLYPHS",
    "GRADIENT_TOLERANCE",
    "INVARIANCE_TOLERANCE",
    "Audit",
    "ReportCard",
    "catalog_pairs",
    "report_card",
    "run_audit",
]

_CRITERIA = ("invariance", "uniqueness", "continuity", "efficiency", "structure", "generality")


def catalog_pairs() -> list:
    """Every registered pair of :mod:`completeness.structures`, in catalog order."""
    from .. import structures

    return [structures.load(name) for name in structures.names()]


@dataclass
class ReportCard:
    """The six criteria for one descriptor.

    ``sections[criterion]`` holds the deterministic measurements (JSON-ready), ``findings`` a
    list of ``(criterion, message)``, ``verdicts`` the catalog verdicts, and ``timings`` the
    machine-dependent efficiency numbers.
    """

    descriptor: str
    kind: str
    body_order: int | None
    parity: str | None
    sections: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)
    verdicts: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict, *, timings: dict | None = None) -> ReportCard:
        """A card read back from :meth:`to_dict` (verdicts are kept apart in an audit's JSON)."""
        return cls(
            descriptor=data["descriptor"],
            kind=data["kind"],
            body_order=data["body_order"],
            parity=data["parity"],
            sections=data.get("sections", {}),
            findings=[(f["criterion"], f["message"]) for f in data.get("findings", [])],
            timings=timings if timings is not None else data.get("timings", {}),
        )

    def finding(self, criterion: str, message: str) -> None:
        self.findings.append((criterion, message))

    def to_dict(self, *, timings: bool = True) -> dict:
        out = {
            "descriptor": self.descriptor,
            "kind": self.kind,
            "body_order": self.body_order,
            "parity": self.parity,
            "sections": json_safe(self.sections),
            "findings": [{"criterion": c, "message": m} for c, m in self.findings],
            "verdicts": [v.to_dict() for v in self.verdicts],
        }
        if timings:
            out["timings"] = json_safe(self.timings)
        return out

    # ---- text ----------------------------------------------------------------------------------

    def summary_lines(self, *, timings: bool = True) -> list[str]:
        """A few lines per criterion (the CLI's card summary)."""
        s = self.sections
        body = "body order not declared" if self.body_order is None else f"{self.body_order}-body"
        flavour = f"{self.parity or 'parity not declared'} {body}"
        inferred = s.get("uniqueness", {}).get("inferred")
        if inferred:
            flavour += (
                f"; inferred from the verdicts: {inferred['parity']} "
                f"{inferred['body_order']}-body ({inferred['contradictions']} contradicting, "
                f"{inferred['basis_limited']} basis-limited of {inferred['n_verdicts']})"
            )
        lines = [f"{self.descriptor} ({flavour})"]
        inv = s.get("invariance", {})
        if "rotation" in inv:
            lines.append(
                "  invariance: rotation {:.1e}, permutation {:.1e}, translation {:.1e}; "
                "mirror {:.1e} ({})".format(
                    inv["rotation"],
                    inv["permutation"],
                    inv["translation"],
                    inv["mirror"],
                    inv["mirror_reading"],
                )
            )
        uni = s.get("uniqueness", {})
        if uni:
            counts = ", ".join(f"{k} {v}" for k, v in uni["counts"].items())
            lines.append(f"  uniqueness: {counts}; " + _orders_text(uni))
        con = s.get("continuity", {})
        if con:
            jump = con.get("cutoff_jump")
            grad = con.get("gradient_error")
            jump_text = (
                "no cutoff"
                if jump is None
                else f"cutoff jump {jump:.1e} at 1e-6 Å ({con['cutoff_reading']})"
            )
            grad_text = "gradients not provided" if grad is None else f"gradient error {grad:.1e}"
            fold = con.get("fold_exponent")
            fold_text = (
                "" if fold is None else f"; at the PRL fold point features move as delta^{fold:.2f}"
            )
            meeting = con.get("coincidence_jump")
            meeting_text = (
                ""
                if meeting is None
                else f"; two neighbours meeting: spread {meeting:.1e} at 1e-5 Å "
                f"({con['coincidence_reading']})"
            )
            lines.append(f"  continuity: {jump_text}; {grad_text}{fold_text}{meeting_text}")
        if timings and self.timings:
            t = self.timings
            lines.append(
                "  efficiency: {} env/s values, {} env/s with gradients; "
                "cost ~ n_neighbours^{}".format(
                    _rate(t.get("values_per_second")),
                    _rate(t.get("gradients_per_second")),
                    _text(t.get("neighbour_exponent"), "{:.2f}"),
                )
            )
        st = s.get("structure", {})
        if st:
            lines.append(
                f"  structure: fixed length {_text(st.get('fixed_length'))}; n_features for "
                f"1-4 species {st.get('n_features_by_species')} "
                f"(~ n_species^{_text(st.get('species_exponent'), '{:.2f}')})"
            )
        gen = s.get("generality", {})
        if gen:
            lines.append(
                "  generality: "
                + ", ".join(f"{k} {'ok' if v else 'FAILS'}" for k, v in gen.items())
            )
        for criterion, message in self.findings:
            lines.append(f"  finding ({criterion}): {message}")
        return lines

    def markdown(self, *, timings: bool = True) -> str:
        lines = [f"### {self.descriptor}", ""]
        lines += [f"- {line.strip()}" for line in self.summary_lines(timings=timings)[1:]]
        return "\n".join(lines) + "\n"


def _orders_text(uni: dict) -> str:
    def dash(value):
        return "-" if value is None else str(value)

    def pair_text(o3, so3):
        return f"{dash(o3)} (O(3)) / {dash(so3)} (SO(3))"

    if uni["highest_resolved_o3"] is None and uni["highest_resolved_so3"] is None:
        resolved = "resolves no environment pair"
    else:
        resolved = "resolves pairs first differing at body order " + pair_text(
            uni["highest_resolved_o3"], uni["highest_resolved_so3"]
        )
    if uni["first_missed_o3"] is None and uni["first_missed_so3"] is None:
        missed = "misses no environment pair"
    else:
        missed = "misses pairs first differing at body order " + pair_text(
            uni["first_missed_o3"], uni["first_missed_so3"]
        )
    return f"{resolved}; {missed}"


def _text(value, fmt="{}"):
    if value is None:
        return "n/a"
    return fmt.format(value)


def _rate(value):
    return "n/a" if value is None else f"{value:,.0f}"


# --------------------------------------------------------------------------------------------
# the card
# --------------------------------------------------------------------------------------------


def report_card(
    descriptor,
    *,
    pairs=None,
    seed: int = 0,
    timings: bool = True,
    name: str | None = None,
    verdict_results: list | None = None,
) -> ReportCard:
    """Measure ``descriptor`` against the six criteria (see the module docstring).

    Parameters
    ----------
    descriptor : Descriptor, object with ``compute``, or callable ``(positions, numbers)``
    pairs : list of pairs, optional
        Defaults to the whole catalog (:func:`catalog_pairs`).
    seed : int
        Seeds every random structure of the card.
    timings : bool
        Measure efficiency (machine-dependent numbers, stored apart in ``card.timings``).
    name : str, optional
        Display name (defaults to the descriptor's ``name`` or class name).
    verdict_results : list of Verdict, optional
        Verdicts already computed on ``pairs`` (the CLI computes them once for the table).
    """
    user = as_descriptor(descriptor, name=name)
    if pairs is None:
        pairs = catalog_pairs()
    card = ReportCard(
        descriptor=user.name, kind=user.kind, body_order=user.body_order, parity=user.parity
    )
    steps = {
        "invariance": lambda rng: criteria.measure_invariance(user, card, rng),
        "uniqueness": lambda rng: criteria.measure_uniqueness(
            user, card, pairs, seed, verdict_results
        ),
        "continuity": lambda rng: criteria.measure_continuity(user, card, rng),
        "efficiency": lambda rng: criteria.measure_efficiency(user, card, rng) if timings else None,
        "structure": lambda rng: criteria.measure_structure(user, card, rng),
        "generality": lambda rng: criteria.measure_generality(user, card, rng),
    }
    for index, criterion in enumerate(_CRITERIA):
        # one independent stream per criterion: skipping timings changes nothing else
        rng = np.random.default_rng([seed, index])
        try:
            steps[criterion](rng)
        except Exception as error:  # a failure is a finding, not a crash
            card.finding(criterion, one_line(error))
    return card


# --------------------------------------------------------------------------------------------
# the audit: several descriptors on several pairs (what `completeness audit` runs)
# --------------------------------------------------------------------------------------------

GLYPHS = {"degenerate": "x", "inconclusive": "?", "resolved": "o", "error": "!"}
_LEGEND = (
    "x degenerate (no more than 10x the noise floor)   o resolved (>= 100x the floor)   "
    "? inconclusive   ! error;  * the verdict differs from what the claim predicts "
    "(a finding: basis-limited or contradiction)"
)


@dataclass
class Audit:
    """Verdicts of several descriptors on several pairs, with a report card per descriptor.

    ``verdicts[name]`` is the list of :class:`Verdict` in pair order; ``cards[name]`` the
    :class:`ReportCard` (None when cards were not requested).
    """

    descriptors: dict
    pairs: list
    verdicts: dict
    cards: dict
    seed: int
    timings: bool
    pair_statement: str | None = None

    # ---- machine-readable ------------------------------------------------------------------

    def to_dict(self, *, timings: bool | None = None) -> dict:
        """Everything as JSON-ready data; ``timings=False`` drops the efficiency timings (the
        only machine-dependent numbers), so two runs compare equal."""
        from .. import __version__
        from . import distance

        timings = self.timings if timings is None else timings
        out = {
            "completeness": __version__,
            "seed": self.seed,
            "rule": {
                "distance": "||f+ - f-|| / max(||f+||, ||f-||) (global: after optimal assignment)",
                "round_off_floor": distance.ROUND_OFF_FLOOR,
                "degenerate_decades": distance.DEGENERATE_DECADES,
                "resolved_decades": distance.RESOLVED_DECADES,
                "neighbour_fraction": distance.NEIGHBOUR_FRACTION,
                "n_transforms": distance.N_TRANSFORMS,
            },
            "pairs": [_pair_record(pair) for pair in self.pairs],
            "descriptors": [
                _descriptor_record(name, user) for name, user in self.descriptors.items()
            ],
            "verdicts": [v.to_dict() for name in self.descriptors for v in self.verdicts[name]],
            "cards": {
                name: card.to_dict(timings=False)
                for name, card in self.cards.items()
                if card is not None
            },
        }
        if self.pair_statement is not None:
            out["oracle"] = self.pair_statement
        if timings:
            out["timings"] = {
                name: json_safe(card.timings)
                for name, card in self.cards.items()
                if card is not None
            }
        return out

    # ---- text ------------------------------------------------------------------------------

    def table_lines(self) -> list[str]:
        """Pairs x descriptors, one glyph per verdict, then the legend."""
        names = list(self.descriptors)
        width = max([len("pair")] + [len(pair.name) for pair in self.pairs])
        header = f"{'pair':<{width}}  O3/SO3  " + " ".join(f"{k + 1:>3}" for k in range(len(names)))
        lines = [header, "-" * len(header)]
        for index, pair in enumerate(self.pairs):
            claim = pair.claim
            reading = f"{claim.equal_up_to_o3}/{claim.equal_up_to_so3}"
            if getattr(claim, "scope", "environment") == "global":
                reading += "g"
            cells = []
            for name in names:
                result = self.verdicts[name][index]
                mark = "*" if result.status in ("basis-limited", "contradiction") else " "
                cells.append(f"{GLYPHS[result.verdict]:>2}{mark}")
            lines.append((f"{pair.name:<{width}}  {reading:<6}  " + " ".join(cells)).rstrip())
        lines.append("")
        for k, name in enumerate(names):
            user = self.descriptors[name]
            if user.body_order is not None and user.parity is not None:
                flavour = f"{user.parity} {user.body_order}-body"
            else:  # what the report card infers, from the same verdicts
                inferred = infer_body_order_and_parity(self.verdicts[name], self.pairs)
                flavour = "undeclared body order/parity" + (
                    ""
                    if inferred is None
                    else f"; inferred {inferred['parity']} {inferred['body_order']}-body"
                )
            lines.append(f"{k + 1:>3}  {name} ({flavour})")
        lines.append("")
        lines.append(_LEGEND)
        lines.append(
            "O3/SO3: highest body order at which the pair's O(3) / oriented signatures coincide "
            "(g: whole-cloud pair, features of every atom compared as a multiset)"
        )
        return lines

    def text(self, *, timings: bool | None = None) -> str:
        from .distance import DEGENERATE_DECADES, RESOLVED_DECADES

        timings = self.timings if timings is None else timings
        lines = [
            f"completeness audit: {len(self.descriptors)} descriptor(s) x {len(self.pairs)} "
            f"pair(s). Verdict: relative feature distance against the noise floor (copies of "
            f"each member perturbed within the coordinates' resolution, rotated, permuted and "
            f"translated): degenerate <= "
            f"{10**DEGENERATE_DECADES:g}x the floor, resolved >= {10**RESOLVED_DECADES:g}x.",
            "",
        ]
        if self.pair_statement is not None:
            lines += [f"oracle: {self.pair_statement}", ""]
        lines += self.table_lines()
        if len(self.pairs) == 1:
            lines.append("")
            for name in self.descriptors:
                lines.append(f"{name}: {self.verdicts[name][0].reading}")
        cards = [card for card in self.cards.values() if card is not None]
        if cards:
            lines += ["", "Report cards", ""]
            for card in cards:
                lines += card.summary_lines(timings=timings)
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def markdown(self, *, timings: bool | None = None) -> str:
        timings = self.timings if timings is None else timings
        names = list(self.descriptors)
        lines = ["# completeness audit", ""]
        if self.pair_statement is not None:
            lines += [f"Oracle: {self.pair_statement}", ""]
        lines.append("| pair | O3/SO3 | " + " | ".join(names) + " |")
        lines.append("|---|---|" + "---|" * len(names))
        for index, pair in enumerate(self.pairs):
            claim = pair.claim
            cells = []
            for name in names:
                result = self.verdicts[name][index]
                mark = "*" if result.status in ("basis-limited", "contradiction") else ""
                cells.append(f"{GLYPHS[result.verdict]}{mark}")
            lines.append(
                f"| {pair.name} | {claim.equal_up_to_o3}/{claim.equal_up_to_so3} | "
                + " | ".join(cells)
                + " |"
            )
        lines += ["", _LEGEND, ""]
        cards = [card for card in self.cards.values() if card is not None]
        if cards:
            lines += ["## Report cards", ""]
            for card in cards:
                lines.append(card.markdown(timings=timings))
        return "\n".join(lines).rstrip() + "\n"

    def html(self, *, title: str = "completeness audit") -> str:
        """One self-contained HTML page (see :mod:`completeness.report_html`)."""
        from ..report_html import audit_html

        return audit_html(self.to_dict(), self.pairs, title=title)

    def figure(self):
        """A verdict heat map (pairs x descriptors; margin bars for a single pair), as a
        matplotlib Figure (see :mod:`completeness.analysis.audit_figure`)."""
        from .audit_figure import audit_figure

        return audit_figure(self)


def _pair_record(pair) -> dict:
    claim = pair.claim
    record = {
        "name": pair.name,
        "scope": claim.scope,
        "equal_up_to_o3": int(claim.equal_up_to_o3),
        "equal_up_to_so3": int(claim.equal_up_to_so3),
        "statement": claim.statement,
        "reference": pair.reference,
    }
    if pair.kind == "user":  # what the user chose and what the report must say about it
        record.update(kind=pair.kind, resolution=pair.resolution, notes=list(pair.notes))
        record.update(pair.params)
    return record


def _descriptor_record(name: str, user: UserDescriptor) -> dict:
    record = {
        "name": name,
        "kind": user.kind,
        "body_order": user.body_order,
        "parity": user.parity,
        "cutoff": user.cutoff,
    }
    if user.kind == "descriptor":
        record["class"] = type(user.wrapped).__name__
        record["hypers"] = json_safe(
            {key: _plain(value) for key, value in user.wrapped.get_params().items()}
        )
    return record


def _plain(value):
    """``value`` when JSON can hold it, else the name of its type (an adapted peer object)."""
    if value is None or isinstance(value, (str, int, float, bool, list, tuple, dict, np.ndarray)):
        return value
    if isinstance(value, np.generic):
        return value
    return f"{type(value).__module__}.{type(value).__name__} object"


def run_audit(
    descriptors: dict,
    pairs=None,
    *,
    cards: bool = True,
    timings: bool = True,
    seed: int = 0,
    progress: bool = True,
    pair_statement: str | None = None,
    timeout: float | None = None,
) -> Audit:
    """Verdicts of every descriptor on every pair (one batch per descriptor) and their cards.

    ``descriptors``: ``{name: descriptor}`` (any shape :func:`as_descriptor` accepts).
    ``progress``: a progress bar per descriptor (:func:`completeness.progress.progress_bar`).
    ``timeout``: seconds one call of a user's descriptor may take
    (:class:`~completeness.descriptors.user.UserDescriptor`).
    """
    from ..progress import progress_bar

    if pairs is None:
        pairs = catalog_pairs()
    users = {name: as_descriptor(d, name=name, timeout=timeout) for name, d in descriptors.items()}
    results, report = {}, {}
    for name in progress_bar(users, enabled=progress, desc="audit", unit="descriptor"):
        user = users[name]
        results[name] = verdicts(user, pairs, seed=seed)
        report[name] = (
            report_card(
                user, pairs=pairs, seed=seed, timings=timings, verdict_results=results[name]
            )
            if cards
            else None
        )
    return Audit(
        descriptors=users,
        pairs=list(pairs),
        verdicts=results,
        cards=report,
        seed=seed,
        timings=timings and cards,
        pair_statement=pair_statement,
    )
