# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05: a design study: every descriptor against the whole catalog
#
# The audit measures each descriptor against the six criteria (invariance, uniqueness,
# continuity, structure, efficiency, generality) and gives a verdict on every degenerate pair of
# the catalog. The built-in descriptors run everywhere; the wrapped libraries (featomic, dscribe,
# quippy) only where they are installed (`pip install completeness[peers]`).
#
# Quick mode (`COMPLETENESS_QUICK=1`) skips the timings, and audits one wrapper per installed
# library without its report card.

# %%
import matplotlib.pyplot as plt

from completeness.analysis import plotting, report
from completeness.descriptors import defaults, wrappers

QUICK = plotting.quick_mode()
pairs = report.catalog_pairs()
print(f"{len(pairs)} catalog pairs")

# %% [markdown]
# ## The built-in descriptors

# %%
builtin = report.run_audit(defaults.builtin_descriptors(), pairs, timings=not QUICK)
print(builtin.text())

# %%
fig = builtin.figure()
plt.show()

# %% [markdown]
# ## The wrapped libraries that are installed

# %%
installed = [name for name in ("featomic", "dscribe", "quippy") if wrappers.library_available(name)]
print("installed libraries:", installed or "none")
specs = [spec for spec in wrappers.PEERS if spec.partition(":")[0] in installed]
if QUICK:
    # one wrapper per library, verdicts only (a quippy report card takes ~10 s)
    specs = [next(s for s in specs if s.startswith(name + ":")) for name in installed]
peers = {spec: wrappers.load_peer(spec) for spec in specs}
if peers:
    audit = report.run_audit(peers, pairs, cards=not QUICK, timings=not QUICK)
    print(audit.text())
    fig = audit.figure()
    plt.show()
