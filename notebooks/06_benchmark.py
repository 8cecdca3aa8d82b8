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
# # 06: does uniqueness predict learning?
#
# Results of `analyses/benchmark` (run `python analyses/benchmark/run.py` to regenerate them):
# every built-in descriptor, with tuned hyperparameters, learns EMT energies of random Cu/Ag/Au
# alloys and of rattled G2 molecules by kernel ridge regression, in the manner of Langer,
# Goeßmann & Rupp (npj Comput. Mater. 8, 41 (2022), doi:10.1038/s41524-022-00721-x). Beside each
# learning curve stand the descriptor's audit numbers; the last table asks whether they predict
# the curve. The protocol is in `docs/benchmark.md`.

# %%
import matplotlib.pyplot as plt

from completeness.analysis import benchmark, plotting

result = plotting.read_results("benchmark", "benchmark")
for task, description in result["tasks"].items():
    print(f"{task}: {description}")

# %% [markdown]
# ## Learning curves (test RMSE over the test-set standard deviation; band: min-max over seeds)

# %%
fig = benchmark.figure(result)
plt.show()

# %% [markdown]
# ## Each descriptor: tuned hyperparameters, errors at the largest training set, audit measures

# %%
text = benchmark.markdown(result)
table, _, correlation = text.partition("## Rank correlation")
print(table)

# %% [markdown]
# ## Rank correlation of the audit measures with the learning performance
#
# Spearman's rho over descriptors, per task, with a bootstrap 95 % interval. With about a dozen
# descriptors only |rho| near 1 with an interval excluding zero says anything.

# %%
print("## Rank correlation" + correlation)
