# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Real faces: do the explanations land on the coded action units?
#
# **When a model trained on the MEGC2019 composite classifies a held-out real clip, does its
# explanation point at the face regions of the action units (AUs) that a FACS coder saw in
# that clip?** Each explanation ranks the model's regions of interest (ROIs); each coded AU
# names one or two of them. The table scores the rankings of every model and method:
# **pointing game** (the top ROI is a coded one), **MRR** (reciprocal rank of the first coded
# ROI, the primary score, fixed before any real-face score was seen) and **hit@3**. Each score
# stands beside its **chance level**, the same ranking scored against the codes of the other
# clips of the same dataset and class. The **gain** is score minus chance, with a 95% interval
# that resamples subjects. The sentences under the table are written by
# `stag.results.real_faces` from the same numbers.

# %% tags=["parameters", "hide-input"]
records = "../results/registered/megc2019_explain"
superseded = "../results/megc2019_explain"
data_root = ""
runs = "../runs/registered/megc2019"
codings = ""
cache_dir = "../.stag-cache"

# %% tags=["hide-input"]
import json
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from stag.explain.real_faces import recompute_scores
from stag.results import real_faces as report
from stag.results import chapters
from stag.viz import apply_theme
from stag.viz.real_faces import plot_example_clips, plot_gains

apply_theme()
pd.set_option("display.max_colwidth", 200)
source = (recompute_scores(records, data_root, runs=runs, codings=codings, cache_dir=cache_dir,
                           out_root="../runs/megc2019_explain") if data_root else records)
answer = chapters.real_faces(source, superseded=superseded)
summary, pairs, source = answer.tables["summary"], answer.tables["paired"], answer.extra["source"]
if answer.extra["superseded"]:
    display(Markdown("**Superseded scores:** the explanations of the runs on audited inputs are not recorded yet; "
                     "these were made on the first copy's runs that read the channels in the wrong order "
                     "(appendix \"How this study was made\")."))
display(report.gain_table(summary, [report.PRIMARY]))
display(Markdown(answer.sentences["explanations"]))

# %% [markdown]
# ## How a clip is scored
#
# The paper says that AU-guided connectivity makes STAG's reasoning more interpretable. The
# synthetic chapter could check maps against known AU masks. Real faces have no masks, but the
# CASME II and SAMM clips come with their released FACS codings. Every model explained here is
# an honest checkpoint: no fold saw its test subject, and its epoch was fixed without it (the
# last epoch in the runs on audited inputs; an inner validation split of the training subjects
# in the superseded runs). The chance level matters because the coded AUs of a
# class are predictable from the class alone: a model that always points at the brows gains
# nothing from classes in which most clips code brow AUs. No image of a real face is shown; the
# clips below are drawn on the mean face template.
#
# Each held-out clip is explained by the fold that did not train on it, with the class that
# fold predicted as the target. Every method gives one importance per ROI. Each importance is
# a magnitude, so evidence for and against the class both count:
#
# - **ROI occlusion**: how much the predicted class's logit changes when one ROI's flow is set
#   to zero. It works for every model.
# - **Pixel IG in ROIs**: Integrated Gradients on the flow pixels from a zero-motion baseline,
#   `|IG|` averaged inside each ROI box. It works for every model, including the
#   single-image baselines, which read the same flow.
# - **Layer IG on ROI nodes**: Integrated Gradients on STAG's ROI node features.
# - **Learned adjacency in-strength**: how strongly the other regions listen to a ROI in
#   STAG's AU-guided dynamic graph, summed over the other ROIs.
#
# A coded AU maps to its regions through the ROI table (AU12 to both mouth corners, AU4 to the
# inner brows and the glabella). Sides are ignored. SMIC clips have no FACS codes, and they
# are left out, as are the clips whose coded AUs have no region in the table; the sentences
# under the first table count both.
#
# The number of IG steps is fixed for every run and listed in the provenance table. The chapter
# reads the recorded per-clip scores under `results/registered/megc2019_explain/` (the first
# copy's runs on audited inputs, explained with the same registered regions they were trained
# on). With `-p data_root DIR -p runs DIR` it explains again the fold checkpoints of your own
# runs of those commands (the README's reproduce commands write them to
# `runs/registered/megc2019/<model>-seed<N>`).

# %% [markdown]
# ## All three scores
#
# The pointing game reads only the top of each ranking, hit@3 its top three, MRR all of it.

# %%
report.gain_table(summary)

# %% [markdown]
# ## Gain over chance, per model and method
#
# MRR minus its permutation chance within dataset and class. The bars are 95% intervals over
# resampled subjects; the dashed line is chance.

# %%
plot_gains(summary, "mrr", labels=report.METHOD_LABELS);

# %% [markdown]
# ## Does the graph help? Paired comparisons
#
# STAG minus each other model, on the same method, the same clips and the seeds both have.
# The interval resamples subjects, with both models scored on each resample. Only ROI occlusion
# and pixel IG exist for every model. STAG's graph methods have no counterpart in the no-graph
# ablation or the baselines, so they are read against chance above.

# %%
for metric in report.METRICS:
    display(report.paired_table(pairs, metric))

# %% [markdown]
# ## Three clips on the mean face
#
# For each class, the first clip by clip id of STAG's lowest recorded seed (a rule that does
# not look at the scores). Green boxes are the regions of the coded AUs. Orange numbers are a
# method's top three ROIs. Blue lines are the five strongest learned edges of the clip's
# dynamic adjacency. Every panel is drawn on the mean face template, never on the subject's face.

# %%
examples = answer.tables["examples"]
first = json.loads(next(Path(source).glob("*.json")).read_text()) if len(examples) else {}
if len(examples):
    plot_example_clips(examples, [m for m in report.METHOD_LABELS if m in set(examples["method"])],
                       labels=report.METHOD_LABELS, class_names=first.get("class_names"));

# %%
examples[["clip_id", "dataset", "label", "pred", "method", "coded_rois", "top_rois", "pointing", "mrr",
          "hit3"]] if len(examples) else "no recorded STAG scores"

# %% [markdown]
# ## Provenance
#
# Each score file lists the commit it was computed at, the checksum of the flows the models
# were trained on and of the flows plus codings that were explained, the command, the machine
# and the time taken. The models' own provenance is in the real-data chapter.

# %%
answer.tables["provenance"]

# %% [markdown]
# ## What we learned
#
# The answer above is computed from the recorded per-clip importances. The build ranks them
# again and checks every recorded score, and a test retrains one fold and explains it again.
# The comparison is with chance for the same class, not with zero: the coded AUs of a class
# are predictable from the class alone. A score that does not beat that chance is no evidence
# that the explanation follows the face. In one sentence:

# %%
display(Markdown(answer.sentences["intro"]))
