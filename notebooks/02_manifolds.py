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
# # 02: manifolds of degenerate pairs
#
# The PRL pair is one point of a continuous 7-parameter family (Pozdnyakov et al., PRL 125,
# 166001 (2020), doi:10.1103/PhysRevLett.125.166001); the B8 pairs of Nigam et al. (2024) are
# two-ring structures with equal 4-body signatures along a whole family as well. Moving along a
# family keeps the pair degenerate for every descriptor whose body order is at most the claim, and
# resolved for the others. The distances below are relative feature distances; the dotted lines
# are the noise floors (rotated and permuted copies of each member).

# %%
import matplotlib.pyplot as plt
import numpy as np

from completeness import analysis, descriptors, structures
from completeness.analysis import plotting

QUICK = plotting.quick_mode()
N_VALUES = 4 if QUICK else 12

# %% [markdown]
# ## The PRL family: 2-, 3- and 4-body descriptors along y_C

# %%
prl_descriptors = [
    descriptors.RadialSpectrum(cutoff=5.0, n_radial=6),
    descriptors.PowerSpectrum(cutoff=5.0, n_radial=6, max_angular=4),
    descriptors.Bispectrum(cutoff=5.0, n_radial=3, max_angular=3),
]
reference = structures.prl.prl_family(seed=0).params
held = {key: reference[key] for key in ("x_a", "z_a", "b_plus", "z_c")}
# move C away from the fold (y_C = 0), starting from the drawn member
y_values = reference["y_c"] + np.sign(reference["y_c"]) * np.linspace(0.0, 1.5, N_VALUES)
prl_scans = [analysis.prl_scan(d, "y_c", y_values, **held) for d in prl_descriptors]
for result in prl_scans:
    print(f"{result.descriptor:15s} {sorted(set(result.verdicts))}")
fig = plotting.scan_figure(prl_scans, title="PRL family: distance of the pair members along y_C")
plt.show()

# %% [markdown]
# ## The B8 family: the bispectrum (4-body) is blind, nu = 4 density correlations are not

# %%
b8_descriptors = [
    descriptors.PowerSpectrum(cutoff=5.0, n_radial=6, max_angular=4),
    descriptors.Bispectrum(cutoff=5.0, n_radial=3, max_angular=3),
    descriptors.DensityCorrelations(correlation_order=4, cutoff=5.0, n_radial=2, max_angular=2),
]
psi_values = np.linspace(0.3, 2.8, N_VALUES)
b8_scans = [analysis.b8_scan(d, "psi", psi_values) for d in b8_descriptors]
for result in b8_scans:
    print(f"{result.descriptor:20s} {sorted(set(result.verdicts))}")
fig = plotting.scan_figure(b8_scans, title="B8 two-ring family: distance along the twist psi")
plt.show()

# %% [markdown]
# ## Walking along the PRL family
#
# In a live kernel with ipywidgets, a slider moves along y_C and shows the pair and where it sits
# on the curve. Without a kernel (a script, CI, a static render) the same view is drawn for the
# first and the last value.


# %%
def show_member(index: int):
    pair = structures.prl.prl_family(**held, y_c=float(y_values[index]))
    fig = plotting.pair_figure(pair)
    fig.suptitle(f"y_C = {y_values[index]:.2f} Å", fontsize=9)
    fig = plotting.scan_figure(prl_scans)
    for result in prl_scans:
        fig.axes[0].plot(y_values[index], result.distance[index], "ks", markersize=8)
    plt.show()


try:
    import ipywidgets
except ImportError:
    ipywidgets = None
if ipywidgets is not None and plotting.live_kernel():
    ipywidgets.interact(show_member, index=ipywidgets.IntSlider(0, 0, len(y_values) - 1))
else:
    print("static view (no live kernel with ipywidgets)")
    for index in (0, len(y_values) - 1):
        show_member(index)
