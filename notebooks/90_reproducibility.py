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
# # Reproducibility
#
# ## Overview
# This page is executed in the same run as every other chapter. It records the software,
# the hardware and the commit that produced the numbers in this book, so a reader can rerun
# exactly this configuration (`make book`, or `stag book --profile full` on a GPU).

# %% tags=["parameters"]
device = "auto"
seed = 0

# %%
import pandas as pd

from stag.device import resolve_device
from stag.environment import device_summary, git_commit, package_versions

# %% [markdown]
# ## Software

# %%
pd.DataFrame(sorted(package_versions().items()), columns=["package", "version"]).set_index("package")

# %% [markdown]
# ## Hardware and run settings

# %%
facts = {**device_summary(), "device used": str(resolve_device(device)), "seed": seed, "git commit": git_commit("..")}
pd.Series(facts, name="value").to_frame()

# %% [markdown]
# ## What was learned
# The table above is the whole environment behind the figures in this book. Chapter
# parameters (dataset, profile, epochs, seeds) are stored in each executed notebook's
# metadata by papermill and summarised in `book/executed/run.json`.
