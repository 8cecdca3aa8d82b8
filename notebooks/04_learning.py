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
# # 04: what degeneracy does to learning
#
# Results of `analyses/learning` (run `python analyses/learning/run.py` to regenerate them):
# ridge and kernel ridge models trained on pairs of the PRL family (target: a 4-body quantity)
# and of the B8 family (target: a 5-body quantity). A descriptor that cannot tell the members of
# a pair apart predicts the same value for both, so its within-pair relative RMSE is exactly 1,
# however much data it sees (Pozdnyakov et al., PRL 125, 166001 (2020),
# doi:10.1103/PhysRevLett.125.166001). The GFRE table (Goscinski et al., Mach. Learn.: Sci.
# Technol. 2, 025028 (2021), doi:10.1088/2632-2153/abdaf7) says how much of one descriptor a
# linear map of another recovers.

# %%
import matplotlib.pyplot as plt

from completeness.analysis import plotting

# %% [markdown]
# ## Learning curves: blind and resolving descriptors on the PRL and B8 families

# %%
labels = {"prl": "PRL family", "b8": "B8 family"}
fig, axes = plt.subplots(2, 2, figsize=(9, 6.5), layout="constrained")
for row, study in enumerate(("prl", "b8")):
    curves = {}
    for role in ("blind", "resolving"):
        for model in ("ridge", "krr"):
            curve = plotting.read_results("learning", f"curve_{study}_{role}_{model}")
            curves[f"{curve['descriptor']} ({role}), {model}"] = curve
    plotting.learning_curve_figure(curves, ax=axes[row, 0], key="test_rmse")
    plotting.learning_curve_figure(curves, ax=axes[row, 1], key="test_pair_rmse")
    axes[row, 0].set_title(f"{labels[study]}: test RMSE", fontsize=9)
    axes[row, 1].set_title(f"{labels[study]}: within-pair relative RMSE", fontsize=9)
plt.show()

# %% [markdown]
# ## Within-pair errors at the largest training set

# %%
summary = plotting.read_results("learning", "summary")
print(f"{'family':6s} {'descriptor (body order)':26s} {'model':6s} {'pairs':>6s} within-pair RMSE")
for row in summary:
    print(
        f"{row['study']:6s} {row['descriptor'] + ' (' + str(row['body_order']) + ')':26s} "
        f"{row['model']:6s} {row['train_pairs']:6d} "
        f"{row['test_pair_rmse']:.4f} ± {row['test_pair_rmse_std']:.4f}"
    )

# %% [markdown]
# ## GFRE: how much of the target descriptor a linear map of the source recovers
#
# 0 means the target is a linear function of the source; values near 1 mean it is not. On the
# PRL pairs, no pair-blind source can go below the degenerate floor.

# %%
gfre = plotting.read_results("learning", "gfre")
for data_set, table in gfre["tables"].items():
    print(f"\n{data_set}: GFRE (GFRD)")
    for mapping, values in table.items():
        print(f"  {mapping:34s} {values['gfre']:.3f} ({values['gfrd']:.3f})")
floor = gfre["degenerate_floor_power_to_bispectrum"]
print(f"\ndegenerate floor (PowerSpectrum -> Bispectrum): {floor:.3f}")

fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
for key, label in (("power_to_bispectrum", "linear"), ("kernel_power_to_bispectrum", "kernel")):
    for data_set, marker in (("random", "o"), ("pairs", "s")):
        ax.semilogx(gfre["n_structures"], gfre[key][data_set], marker + "-",
                    label=f"{label}, {data_set}")  # fmt: skip
ax.axhline(
    gfre["degenerate_floor_power_to_bispectrum"], color="k", ls=":", label="degenerate floor"
)
ax.set_xlabel("structures")
ax.set_ylabel("GFRE(PowerSpectrum -> Bispectrum)")
ax.legend(fontsize=8)
plt.show()
