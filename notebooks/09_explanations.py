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
# # Interpretability: are the explanations right?
#
# **When STAG classifies a held-out clip, do the attribution maps land on the action units
# (AUs) that actually moved?** The figure gives each method's AU-localisation lift on
# held-out synthetic clips, whose AU masks are known (1 = chance; the dotted line is the
# masks themselves); the sentence under it is written by `stag.results.explanations.lift_sentence`.

# %% tags=["parameters", "hide-input"]
dataset = "synthetic"
data_root = ""
annotations = ""
protocol = "loso"
explain_models = "stag"
epochs = 6
seeds = 1
seed = 0
batch_size = 32
lr = 0.002
device = "auto"
cache_dir = "../.stag-cache"
n_subjects = 12
clips_per_subject = 12
image_size = 128
output_size = 64
keyframes = 4
flow_method = "dis"
landmarks = "detect"
jobs = 2
methods = "ig,gradshap,saliency,occlusion"
clips_per_fold = 4
n_steps = 32
gradshap_samples = 16
target = "pred"
occlusion_window = 8
occlusion_stride = 4
threads = 1

# %% tags=["hide-input", "hide-output"]
from pathlib import Path

from IPython.display import Markdown, display

from stag.explain import ExplainConfig, explain_run
from stag.faces import ROI_NAMES
from stag.results import chapters
from stag.results import explanations as xreport
from stag.results.protocol_runs import runs_table, settings_table
from stag.train.experiment import training_setup
from stag.train.study import parse_models, run_study
from stag.viz import explain as vizx

# The same data, preprocessing and training settings as chapter 6 (one call), so its cached
# folds are reused.
setup = training_setup(dataset=dataset, data_root=data_root, annotations=annotations, seed=seed, epochs=epochs,
                       batch_size=batch_size, lr=lr, device=device, cache_dir=cache_dir, n_subjects=n_subjects,
                       clips_per_subject=clips_per_subject, image_size=image_size, output_size=output_size,
                       keyframes=keyframes, flow_method=flow_method, landmarks=landmarks, jobs=jobs)
data = setup.data
explain_config = ExplainConfig(methods=tuple(m.strip() for m in methods.split(",")), target=target,
                               n_steps=n_steps, gradshap_samples=gradshap_samples, occlusion_window=occlusion_window,
                               occlusion_stride=occlusion_stride, clips_per_fold=clips_per_fold,
                               random_state=seed, device=device, threads=threads)

# Trained folds and explanations come from the caches (keyed by data and settings): chapter 6's
# folds are reused, and a rerun with the same parameters loads the explanations.
runs = run_study(data.prepared, parse_models(explain_models), protocol=protocol, config=setup.train_config,
                 seeds=1, selections=("last",), root=setup.runs_root, jobs=jobs, class_names=data.class_names,
                 progress=False)
explanations = {r.model: explain_run(data.prepared, r.out, explain_config, progress=False, cache=True) for r in runs}
model = runs[0].model
ex = explanations[model]
answer = chapters.explanations(ex, explain_config.methods)
tables = answer.extra["tables"]

# %% tags=["hide-input"]
if tables.has_truth:
    fig = vizx.plot_localisation(tables.localisation)
    fig.axes[0].set_title(f"{model}: AU-localisation lift on {len(ex.clips)} held-out clips")
display(Markdown(answer.sentences["answer"]))

# %% [markdown]
# ## How the maps are made and scored
# A heat map cannot be judged by eye, so here it is measured: the synthetic clips record which
# AUs moved and which pixels they moved. The **AU-localisation lift** of a map is the share of
# its positive mass inside the active AUs' masks, divided by the masks' share of the image. A
# map that knows nothing scores 1; the masks themselves reach the ceiling. Two controls need
# no model: a *random* map, and the *flow magnitude* (`motion`), which shows how far simply
# following the input motion gets.
#
# We take the STAG folds that chapter 6 trained under LOSO (same parameters, same cache,
# nothing is retrained) and explain each fold's model **on its own held-out clips only**,
# with Captum {cite:p}`kokhlikyan2020captum`:
#
# - **Integrated Gradients** {cite:p}`sundararajan2017ig` from a zero-flow baseline
#   (no motion, i.e. no micro-expression), **GradientShap** {cite:p}`lundberg2017shap`,
#   **Saliency** (absolute gradient) and **Occlusion** (zero the flow in a sliding patch);
# - region-level importance from ROI occlusion and from layer Integrated Gradients on the ROI
#   node features;
# - attribution over keyframes, and the learned adjacency over ROI pairs.
#
# Besides the lift, we report the pointing game {cite:p}`zhang2018excitation`, the rank
# agreement between ROI importances and the generated AU intensities, and deletion/insertion
# faithfulness curves {cite:p}`petsiuk2018rise`. Every fold's checkpoint stores the ids of its
# test clips; `clips_per_fold` of them, spread evenly, are explained, and each method
# explains the class the model predicted (`target="pred"`). The explanations are stored
# beside the run, keyed by the run, the data and these settings.

# %%
settings_table(explanation=explain_config)

# %%
runs_table(runs)[["model", "n_folds", "uf1", "uar"]].join(xreport.explained_clips(explanations), on="model").set_index("model").round(3)

# %% [markdown]
# All findings of the chapter, each computed from a table shown further down:

# %%
display(Markdown(answer.sentences["findings"]))

# %% [markdown]
# ## Do the maps land on the moving AUs?
# Mean over clips per method. `inside_share` is the share of positive attribution inside the
# union of the active AU masks, and `area_share` is the share of the image those masks cover.
# `lift` is their ratio, so 1 means chance; `ceiling` is `1 / area_share` (the masks
# themselves) and `headroom` the share of the way from chance to the ceiling. `pointing_hit` is
# the rate at which the map's maximum lands in the masks (1 px tolerance), with
# `pointing_chance` the rate for a uniformly random point.

# %%
tables.localisation.round(3) if tables.has_truth else Markdown("_No ground truth on this dataset: localisation is "
                                                                "not measurable._")

# %% [markdown]
# Integrated Gradients comes with a check of its own. The attributions of a clip must add
# up to `f(flows) - f(zero flow)` for the explained class. The gap left by the
# `n_steps`-point integral, relative to that difference, tells us whether the path integral
# was resolved.

# %%
tables.completeness.to_frame().T.round(4)

# %% [markdown]
# The overlays show the aligned apex face with the active AU masks outlined. Next to it is
# each method's positive attribution, summed over keyframes and channels.

# %%
fig = vizx.plot_overlays(ex, n_clips=4)

# %% [markdown]
# ### Per class and per outcome
# Localisation split by the true class. Classes differ in their AUs and in how large their
# masks are, so a lift can only be compared with the ceiling of its own row. Below it, the
# same split by whether the held-out clip was classified correctly: an explanation of a wrong
# prediction has no reason to land on the AUs that carried the true class.

# %%
tables.per_class.round(2)

# %%
tables.per_outcome.round(2)

# %% [markdown]
# ### Which channel, which sign?
# A score can rise or fall with choices that have nothing to do with the model, so we
# report the choices side by side instead of picking the best one. `lift` keeps each
# pixel's net positive contribution summed over channels. `lift_abs` counts evidence
# against the class too. `lift_apex` keeps only the keyframe with the largest motion (the
# masks are drawn at the apex). `lift_u`, `lift_v` and `lift_strain` use one flow channel at
# a time. Occlusion perturbs all channels together, so its channel columns coincide.

# %%
tables.channels.round(2)

# %% [markdown]
# ## Regions: do ROI importances follow the AU intensities?
# For each clip, the ground-truth motion of a ROI is the apex displacement of each active
# AU, weighted by how much of the ROI box its mask covers. `roi_spearman` is the Spearman
# rank correlation between that and each source's ROI importance, averaged over clips.
# The sources are the pixel maps' mean inside the box, ROI occlusion (the drop of the target
# logit when the box carries no motion) and layer Integrated Gradients on STAG's ROI node
# features.

# %%
tables.roi.round(3)

# %%
fig = vizx.plot_region_importance(ex.regions, clip_id=ex.clips.sort_values("correct", ascending=False)["clip_id"].iloc[0])

# %% [markdown]
# ## Edges and time
# The learned AU-guided adjacency (averaged over the explained clips) shows which ROI pairs
# the graph actually connects. The keyframe plot compares where the attribution sits in time
# with the magnitude prior and the temporal attention the model learned. (Occlusion is left
# out here: its patch spans every keyframe, so it cannot say which one mattered.)

# %%
if "adjacency" in ex.edges:
    fig = vizx.plot_edges(ex.edges["adjacency"].mean(0), list(ROI_NAMES)[: ex.edges["adjacency"].shape[1]],
                          title=f"{model}: mean learned adjacency over {len(ex.clips)} clips")

# %%
fig = vizx.plot_keyframes(ex.keyframes, methods=[m for m in ("ig", "gradshap") if m in explain_config.methods] or None)
Markdown("Mean per-clip Spearman between |{}| per keyframe and the magnitude prior: {:.2f}.".format(*tables.keyframes))

# %% [markdown]
# ## Faithfulness: does removing the top pixels hurt the model?
# Pixels are ranked by each method's signed map. *Deletion* zeroes the top-ranked share of
# the flow (all keyframes and channels), and *insertion* restores it onto an all-zero
# input. The dashed line uses a random order. For a faithful ranking, deletion drops the
# target probability faster than random (lower area) and insertion recovers it faster
# (higher area). The second table and figure do the same with whole ROIs.

# %%
fig = vizx.plot_faithfulness(ex.curves, unit="pixel")
tables.faithfulness.round(3)

# %%
if len(tables.faithfulness_roi):
    fig = vizx.plot_faithfulness(ex.curves, unit="roi")
tables.faithfulness_roi.round(3)

# %% [markdown]
# ## Where the methods disagree
# The mean per-clip Spearman correlation between methods' pixel maps. Methods that agree
# on *where* can still differ in *how sharply*: gradient-based maps are speckled at pixel
# level, while Occlusion is smooth at the patch scale.

# %%
tables.agreement.round(2)

# %% [markdown]
# ## What we learned
# The findings listed near the top are computed from the tables above when the chapter runs.
#
# **Reading these numbers.** The lift, its ceiling and the two controls go together. The
# masks mark every pixel that an AU displaced by at least a tenth of its peak (or 0.1 px), so
# they are wide and the ceiling is low. The flow-magnitude control is there because motion
# is large where AUs act. An explanation adds something only where the model has learned
# which motion matters for the class. Head drift, blinks and illumination flicker also
# produce flow, and the control pays for it.
#
# **When IG falls short of the target, look at three things before the metric.** The first
# is the *ceiling*: a class whose AUs cover much of the face cannot reach a high lift, so the
# per-class table reports the share of the headroom. The second is the *channel*: the
# attribution to strain, which is a spatial derivative of the flow and peaks at the edges of
# a moving region, can localise differently from the attribution to the raw `u`, `v`
# displacement. The third is the *sign*: counting absolute values adds the evidence
# *against* the class, and that need not sit on the AUs. None of these variants replaces the
# headline score, which stays the positive attribution over all channels and keyframes.
#
# **Where the methods disagree, and why.** IG and GradientShap share a baseline (zero flow)
# and a path, and the agreement table shows how close their maps are. Saliency is the
# gradient alone: it has no baseline and no sign, so it marks where the model is
# *sensitive*, not where the evidence *is*. Occlusion asks a coarser question at the scale
# of its patch: its maps are smooth where the gradient maps are speckled from pixel to pixel,
# which is why the pixel-level agreement between the two families is low even when both
# land in the masks. Localisation and faithfulness answer different questions. A model
# that leans on a shortcut yields maps that are faithful to it but miss the AUs. A map can
# also land on the AUs without the model using those pixels. So both are reported, and
# neither is tuned to look good.
#
# On real data (`-p dataset casme2 ...`) there are no masks. The chapter then shows the
# maps, regions, edges, keyframes and faithfulness curves only.
