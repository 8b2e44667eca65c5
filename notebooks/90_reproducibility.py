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
# **What software, hardware and commit produced the numbers in this book?** This page is
# executed in the same run as every other chapter. The table records the machine, the device,
# the seed and the commit; the one below it every package version. With them a reader can
# rerun exactly this configuration (`make book`, or `stag book --profile full` on a GPU).

# %% tags=["parameters", "hide-input"]
device = "auto"
seed = 0

# %% tags=["hide-input"]
import pandas as pd

from stag.device import resolve_device
from stag.environment import device_summary, git_commit, package_versions

# %% tags=["hide-input"]
pd.Series({**device_summary(), "device used": str(resolve_device(device)), "seed": seed,
           "git commit": git_commit("..")}, name="value").to_frame()

# %% [markdown]
# ## Software

# %%
pd.DataFrame(sorted(package_versions().items()), columns=["package", "version"]).set_index("package")

# %% [markdown]
# ## What was learned
# The tables above are the whole environment behind the figures in this book. Chapter
# parameters (dataset, profile, epochs, seeds) are stored in each executed notebook's
# metadata by papermill and summarised in `book/executed/run.json`; the appendix's execution
# report lists them with each chapter's run time.
