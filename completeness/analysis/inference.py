"""Body order and parity of a descriptor that does not declare them, inferred from its verdicts.

A descriptor of body order ``b`` and parity ``p`` cannot resolve a pair whose members coincide up
to body order ``b`` (with or without orientation, as ``p`` says): the claim predicts
"degenerate" (:func:`completeness.analysis.distance.expected_verdict`). A measured "resolved"
verdict on such a pair contradicts ``(b, p)``; a measured "degenerate" verdict on a pair the
claim calls resolvable is possible (a finite basis can miss it) but counts against ``(b, p)``.

The inferred ``(b, p)`` is the candidate with the fewest contradictions, then the fewest
basis-limited verdicts, then the smallest body order, preferring ``O(3)`` (mirror invariant):
the simplest description the catalog's verdicts allow. It is a reading of the catalog, not a
proof: a body order above what the catalog's pairs probe cannot be told apart from a higher
one, and the report card marks the values as inferred.
"""

from __future__ import annotations

from .distance import expected_verdict

__all__ = ["infer_body_order_and_parity"]

#: candidate body orders (the catalog's claims reach 5-body)
CANDIDATE_BODY_ORDERS = range(2, 7)


def infer_body_order_and_parity(results, pairs) -> dict | None:
    """``{"body_order", "parity", "contradictions", "basis_limited", "n_verdicts"}`` of the best
    candidate (module docstring), or None when no verdict constrains it.

    ``results``: :class:`~completeness.analysis.distance.Verdict` list; ``pairs``: the pairs they
    were measured on (their claims).
    """
    claims = {pair.name: pair.claim for pair in pairs}
    measured = [r for r in results if r.verdict in ("degenerate", "resolved") and r.pair in claims]
    best = None
    for parity in ("O(3)", "SO(3)"):
        for body_order in CANDIDATE_BODY_ORDERS:
            contradictions = basis_limited = used = 0
            for result in measured:
                expected = expected_verdict(body_order, parity, claims[result.pair])
                if expected == "unknown":
                    continue
                used += 1
                if expected == "degenerate" and result.verdict == "resolved":
                    contradictions += 1
                elif expected == "resolvable" and result.verdict == "degenerate":
                    basis_limited += 1
            rank = (contradictions, basis_limited, body_order, parity != "O(3)")
            if used and (best is None or rank < best[0]):
                best = (rank, body_order, parity, used)
    if best is None:
        return None
    (contradictions, basis_limited, _, _), body_order, parity, used = best
    return {
        "body_order": body_order,
        "parity": parity,
        "contradictions": contradictions,
        "basis_limited": basis_limited,
        "n_verdicts": used,
    }
