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
# # 03: sensitivity near degeneracies
#
# Three measurements of how features move under small displacements:
#
# 1. the PRL fold point (Pozdnyakov et al., PRL 125, 166001 (2020),
#    doi:10.1103/PhysRevLett.125.166001): at y_C = 0 the two members coincide and the features
#    move as delta^2 away from it, not as delta;
# 2. Onat-style radial and tangential paths in diamond Si (Onat, Ortner, Kermode, J. Chem. Phys.
#    153, 144106 (2020), doi:10.1063/5.0016005): a tangential move of a neighbour changes a
#    perfect-crystal power spectrum as t^2, and as t once the crystal is jittered;
# 3. following the insensitive mode of CH4 (Parsaeifard & Goedecker, J. Chem. Phys. 156, 034302
#    (2022), doi:10.1063/5.0070488): a path along which the power spectrum barely changes.
#
# Quick mode (`COMPLETENESS_QUICK=1`) uses a smaller Si cell and cutoff and a short path; the
# full numbers of `analyses/sensitivity` are read from its results for comparison.

# %%
import ase
import matplotlib.pyplot as plt
import numpy as np
from ase.build import bulk

from completeness import analysis, descriptors
from completeness.analysis import plotting
from completeness.analysis import sensitivity as S

QUICK = plotting.quick_mode()
stored = {name: plotting.read_results("sensitivity", name) for name in ("fold", "onat", "manifold")}
config = plotting.read_config("sensitivity")

# %% [markdown]
# ## 1. The fold point: distance from X(0) against delta

# %%
power_spectrum = descriptors.PowerSpectrum(cutoff=5.0, n_radial=6, max_angular=4)
fold = analysis.fold_scan(power_spectrum, deltas=np.logspace(-4, -1, 4 if QUICK else 10))
print(f"exponent of the response at the fold: {fold.exponent:.3f} (expected 2)")
for label in ("fold", "away"):
    fit = stored["fold"][label]["exponent_fold_direction"]
    print(
        f"stored study, y_C = {stored['fold'][label]['y_c']:.1f} Å: "
        f"k = {fit['exponent']:.4f} ± {fit['standard_error']:.1e}"
    )

fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
ax.loglog(fold.values, fold.response, "o-", label="d(X(0), X+(delta))")
ax.loglog(fold.values, fold.distance, "s-", label="d(X+(delta), X-(delta))")
ax.loglog(fold.values, fold.values**2, "k:", label="delta^2")
ax.set_xlabel("delta (Å)")
ax.set_ylabel("relative feature distance")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 2. Onat paths: radial and tangential moves of the nearest neighbour in diamond Si

# %%
onat = config["onat"]
cutoff = 4.0 if QUICK else onat["power_spectrum"]["cutoff"]
supercell = (2, 2, 2) if QUICK else tuple(onat["supercell"])
si_descriptor = descriptors.PowerSpectrum(**{**onat["power_spectrum"], "cutoff": cutoff})
perfect = bulk("Si", "diamond", a=onat["lattice_constant"], cubic=True) * supercell
jittered = S.radial_jitter(perfect, 0, cutoff=cutoff, amplitude=onat["jitter"], seed=onat["seed"])
environment = S.jacobian(si_descriptor, perfect, 0).environment
nearest = int(np.argmin(environment.distances))
t_values = np.logspace(-6, -3, 7)

fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
for label, atoms in (("perfect", perfect), ("jittered", jittered)):
    for path, style in (("radial", "o-"), ("tangential", "s--")):
        fit = S.scaling_exponent(
            si_descriptor, atoms, 0, t_values=t_values, path=path, neighbour=nearest
        )
        key = f"{'jitter' if label == 'jittered' else label}_{path}"
        print(
            f"{label:9s} {path:10s} k = {fit.exponent:.3f}   "
            f"(stored, full cell: {stored['onat'][key]['exponent']:.3f})"
        )
        ax.loglog(fit.t, fit.distance, style, label=f"{label}, {path}")
ax.set_xlabel("displacement t (Å)")
ax.set_ylabel("relative feature distance")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 3. Following the insensitive mode of CH4
#
# Each step moves the hydrogens along the right singular vector of the smallest singular value
# of the feature Jacobian; the feature change along the path stays far below the change of a
# random displacement of the same length.

# %%
manifold = config["manifold"]
ch4 = ase.Atoms("CH4", positions=np.vstack([[0, 0, 0], manifold["hydrogens"]]))
ch4_descriptor = descriptors.PowerSpectrum(**manifold["power_spectrum"])
path = S.follow_insensitive_mode(
    ch4_descriptor,
    ch4,
    0,
    n_steps=100 if QUICK else 2000,
    step=manifold["step"],
    target=S.ch4_four_body_target,
    n_random=manifold["n_random"],
    seed=manifold["seed"],
)
summary = path.summary()
print(f"end-to-end displacement {summary['end_to_end']:.4f} Å")
print(f"feature change along / random: {summary['ratio']:.4f}")
print(f"4-body target range along the path: {summary['target_range']}")
print(f"stored study (20000 steps): {stored['manifold']['power_spectrum']['ratio']:.4f}")

fig, axes = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
steps = np.arange(len(path.feature_change))
axes[0].plot(steps, path.feature_change)
axes[0].set_xlabel("step")
axes[0].set_ylabel("relative power-spectrum change")
axes[1].plot(steps, path.target)
axes[1].set_xlabel("step")
axes[1].set_ylabel("4-body target")
plt.show()
