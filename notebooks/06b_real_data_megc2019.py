# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Real data: the MEGC2019 composite
#
# **Does STAG beat the baselines on real faces under honest LOSO?**
#
# The composite of the MEGC2019 challenge pools CASME II, SAMM and SMIC-HS: 442 clips of 68
# subjects in three classes (negative, positive, surprise), one onset-to-apex optical-flow
# image per clip. Every model is trained with leave-one-subject-out (LOSO) evaluation and
# scored the MEGC way (one confusion matrix summed over the 68 folds). Training all models,
# selections and seeds takes far longer than a book build, so this chapter reads **recorded
# runs**: the raw predictions of each run plus its provenance, committed under
# `results/megc2019/`. The build re-scores every run from its predictions and fails if a
# number disagrees; a test retrains one fold and checks it reproduces the recorded
# predictions. No image of the data enters the book.
#
# The table gives UF1 as the mean over seeds with the range over seeds and a 95% interval
# obtained by resampling *subjects* (a subject's clips move together). The sentence below
# the table is written by `stag.train.record.findings` from the same numbers.

# %% tags=["parameters", "hide-input"]
records = "../results/megc2019"
data_root = ""
device = "auto"

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown, display

from stag.train import record
from stag.viz import apply_theme
from stag.viz.results import plot_confusions_or_note, plot_paired_differences

apply_theme()
pd.set_option("display.max_colwidth", 120)
table = record.load_or_retrain(records, data_root, device, out_root="../runs/megc2019-retrain")
summary = record.summary(table)
comparison = record.compare(table)

# %%
record.headline(summary)

# %%
print(record.findings(table, comparison))

# %% [markdown]
# ## Per dataset
#
# The composite mixes three laboratories, cameras and frame rates. UF1 and UAR of each source
# dataset (mean over seeds) show whether one of them carries the pooled score.

# %%
record.per_dataset(summary)

# %% [markdown]
# ## Confusion matrices
#
# Honest last-epoch selection, confusion matrices summed over seeds; rows are the true
# class, cells give the share of that class (recall) and the count.

# %%
items, class_names = record.confusions(table, selection="last")
plot_confusions_or_note(items, class_names);

# %% [markdown]
# ## STAG against the best baseline, paired
#
# Per seed, STAG minus the best baseline of the same selection, both trained with the same
# seed. The interval resamples the 68 subjects and rescores both models on every resample,
# so it accounts for the two models sharing their test subjects.

# %%
comparison.round(3)

# %%
plot_paired_differences(comparison);

# %% [markdown]
# ## Leave one dataset out
#
# Trained without one source dataset and tested on it (runs named
# `<model>-lodo-<dataset>-seed<N>`, protocol `cross_dataset`): how far a model carries to a
# laboratory it has never seen.

# %%
record.lodo(table)

# %% [markdown]
# ## Provenance
#
# Every recorded run: the commit it was trained from (`+dirty`: with uncommitted changes),
# the checksum of the dataset files it read, the exact command, the machine and its times.

# %%
record.provenance_table(table)

# %% [markdown]
# ## What was tried, and with what budget

# %%
display(Markdown(record.tried(records)))

# %% [markdown]
# ## What we learned
#
# The answer above is computed from the recorded predictions, so it changes only when the
# records change, and every number in this chapter can be traced to a run, a commit and a
# data checksum. The question is decided by the paired interval, which resamples subjects,
# not by the gap between two means.
