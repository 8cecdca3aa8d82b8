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
# # 01: a tour of `completeness`
#
# A degenerate pair is two atomic environments that are not the same up to rotation, reflection
# and permutation, yet that a descriptor maps to the same features. This notebook loads the pair
# of Pozdnyakov et al., Phys. Rev. Lett. 125, 166001 (2020), doi:10.1103/PhysRevLett.125.166001
# (Fig. 1(b)), looks at it in 3D, computes its features with a 3-body and a 4-body descriptor,
# and runs the audit of one descriptor.
#
# Set `COMPLETENESS_QUICK=1` for the short variant that CI runs.

# %%
import matplotlib.pyplot as plt
import numpy as np

from completeness import analysis, descriptors, oracle, structures
from completeness.analysis import plotting

QUICK = plotting.quick_mode()
print("quick mode:", QUICK)

# %% [markdown]
# ## The pair and what the oracle says about it

# %%
pair = structures.load("pozdnyakov2020-fig1b")
print(pair.claim.statement)
print(pair.reference)
print(structures.verify(pair))

# %% [markdown]
# ## The pair in 3D
#
# The matplotlib view always works (it is what the tests and the paper use). Where chemiscope or
# py3Dmol is installed, an interactive view is shown as well.

# %%
fig = plotting.pair_figure(pair)
plt.show()

# %%
viewer = plotting.interactive_viewer()
print("interactive viewer:", viewer or "none installed (matplotlib view above)")
if viewer == "chemiscope" and plotting.live_kernel():
    import chemiscope

    display(chemiscope.show([pair.plus, pair.minus], mode="structure"))  # noqa: F821
elif viewer == "py3Dmol" and plotting.live_kernel():
    import py3Dmol

    view = py3Dmol.view(width=600, height=300, viewergrid=(1, 2))
    for column, atoms in enumerate((pair.plus, pair.minus)):
        xyz = f"{len(atoms)}\n\n" + "\n".join(
            f"{s} {x:.6f} {y:.6f} {z:.6f}"
            for s, (x, y, z) in zip(
                atoms.get_chemical_symbols(), atoms.get_positions(), strict=True
            )
        )
        view.addModel(xyz, "xyz", viewer=(0, column))
        view.setStyle({"sphere": {"scale": 0.3}}, viewer=(0, column))
    view.zoomTo()
    view.show()

# %% [markdown]
# ## Features: the power spectrum (3-body) cannot tell the members apart, the bispectrum can

# %%
power_spectrum = descriptors.PowerSpectrum(cutoff=5.0, n_radial=6, max_angular=4)
bispectrum = descriptors.Bispectrum(cutoff=5.0, n_radial=3, max_angular=3)
fitted = pair.fitted(5.0)  # the similarity scale the audit uses for a 5 Å cutoff
plus, minus = fitted.plus, fitted.minus
for descriptor in (power_spectrum, bispectrum):
    features = descriptor.compute([plus, minus], centers=[0]).values
    print(
        f"{type(descriptor).__name__:14s} {features.shape[1]:4d} features, "
        f"relative distance {analysis.feature_distance(features[0], features[1]):.2e}"
    )

# %%
features = power_spectrum.compute([plus, minus], centers=[0])
fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
ax.plot(features.values[0], label="plus", lw=2)
ax.plot(features.values[1], "--", label="minus")
ax.set_xlabel("power-spectrum feature index")
ax.set_ylabel("feature value")
ax.legend()
plt.show()
print("largest |plus - minus|:", np.abs(features.values[0] - features.values[1]).max())

# %% [markdown]
# ## Verdicts against the noise floor
#
# A distance only means something against the round-off of the descriptor itself: the noise
# floor is the distance between randomly rotated and permuted copies of each member.

# %%
for descriptor in (power_spectrum, bispectrum):
    print(analysis.verdict(descriptor, pair))

# %% [markdown]
# ## The audit of one descriptor: its report card on the whole catalog

# %%
pairs = analysis.catalog_pairs()
if QUICK:
    pairs = [p for p in pairs if p.name in ("pozdnyakov2020-fig1b", "nigam2024-b8-0000")]
audit = analysis.report.run_audit({"power-spectrum": power_spectrum}, pairs, timings=not QUICK)
print(audit.text())

# %%
fig = audit.figure()
plt.show()

# %% [markdown]
# The oracle agrees: the PRL pair has equal 3-body signatures, so a 3-body descriptor must fail,
# whatever its basis.

# %%
print(oracle.degeneracy_order(pair.plus, pair.minus))
