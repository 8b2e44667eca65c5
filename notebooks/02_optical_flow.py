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
# # Optical flow
#
# **Which optical-flow estimator should preprocessing use: the TV-L1 of the
# micro-expression literature, or something faster?** The chart measures each candidate
# against the synthetic ground truth; the lines under it are written by
# `stag.bench.flow.flow_sentences` from the same table.

# %% tags=["parameters", "hide-input"]
seed = 0
image_size = 128
flow_method = "dis"
n_subjects = 3
clips_per_subject = 4
warp_pairs = 6
timing_seconds = 0.3

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown, display

from stag.bench.flow import (DEFAULT_METHODS, flow_sentences, measure, method_summary, panel_agreement, panel_sentences,
                             strongest_pair_panel, synthetic_pairs)
from stag.bench.flow import warp_pairs as make_warp_pairs
from stag.data import load
from stag.preprocess.pipeline import PrepareConfig, prepare_clip
from stag.viz import flow as vizflow

config = PrepareConfig(image_size=image_size, flow_method=flow_method)
clips = load("synthetic", n_subjects=n_subjects, clips_per_subject=clips_per_subject, seed=seed)
pairs = synthetic_pairs(clips, size=image_size)
table = pd.concat([
    measure(make_warp_pairs(warp_pairs, image_size, seed=seed), DEFAULT_METHODS, timing_seconds).assign(set="warp"),
    measure(pairs, DEFAULT_METHODS, timing_seconds).assign(set="synthetic apex"),
], ignore_index=True)

# %% tags=["hide-input"]
fig = vizflow.plot_method_chart(table)

# %% tags=["hide-input"]
display(Markdown(flow_sentences(table, config.flow_method)))

# %% [markdown]
# STAG sees motion, not appearance: its input is the optical flow from the onset frame to
# each keyframe, on a face aligned to a canonical template, with the optical strain as a
# third channel. The chart gives the mean end-point error (EPE) inside the face, where the
# generator knows the true displacement of every pixel, against pairs of 128 x 128 faces per
# second on **one** core, since preprocessing runs one clip per core. The candidates:
#
# - **TV-L1** (OpenCV `cv2.optflow`), with its default parameters and with a tuned, faster
#   setting;
# - **DIS** (dense inverse search), tuned and with OpenCV's medium preset;
# - **Farneback** (polynomial expansion).
#
# The two test sets have exact answers: smooth random warps (up to 2 px plus a 0.3 px drift)
# of rendered faces, and the onset-to-apex pairs of `n_subjects` x `clips_per_subject`
# synthetic clips (the true displacement resampled into the aligned frame).
# `diff_vs_tvl1_default` is how far a method's flow is from default TV-L1's. `stag bench flow`
# repeats the comparison at 224 x 224.

# %%
table.round(3)

# %% [markdown]
# ## What the flow of a micro-expression looks like
# One clip, aligned onset and true apex faces: the test pair whose face moves most once the
# head motion is removed. Between onset and apex the whole head also drifts by a fraction of
# a pixel; that shared shift would paint every panel in one colour, so each flow is drawn
# after removing the head motion (the affine motion fitted inside the face, as the keyframe
# curve of the data chapter removes it). Each panel colour-codes a flow field: the hue is the
# direction (see the key: right = red, down = yellow-green, left = cyan, up = violet) and the
# brightness the magnitude, on one scale for every panel, set by the truth (last panel);
# outside the face, where flow is not measured, is grey. The second row is the optical
# strain, the local deformation
# $\sqrt{\varepsilon_{xx}^2 + \varepsilon_{yy}^2 + 2\varepsilon_{xy}^2}$ computed from the
# flow gradients (after a light Gaussian smoothing of the estimated flow, `strain_sigma`, which
# lowered the strain error of every method): it is zero for a rigid shift of the head and lights
# up where skin stretches or compresses. All four strain maps share the truth's colour scale,
# so a method that exaggerates strain saturates.

# %%
panel = strongest_pair_panel(pairs, ("tvl1", "dis", "farneback"), config.strain_sigma)
pair, clip = panel.pair, clips[panel.index]
fig = vizflow.plot_flow_panels(pair.first, panel.local, panel.strain, mask=pair.mask,
                               subtitle=f"{clip.clip_id}, AUs {'+'.join(map(str, clip.aus))}; head motion removed")
agreement = panel_agreement(panel)
display(Markdown(panel_sentences(panel, agreement, clip.clip_id)))
agreement.round(3)

# %% [markdown]
# ## The default
# Preprocessing computes flow for K = 8 keyframes of every clip, so a method that is ten times
# faster saves minutes on a real dataset and lets the magnitude curve itself be computed from
# flow. The package has one default, `stag.preprocess.flow.DEFAULT_FLOW`, used for the flow
# stack, the keyframe magnitude curve, `stag train` and every chapter. The table gives each
# method's errors and speed, from which the lines at the top of the chapter are written.

# %%
method_summary(table).round(3)

# %% [markdown]
# ## The stack the model sees
# For one clip, `prepare_clip` chooses eight keyframes from the motion curve (chapter 01)
# and stacks the onset-to-keyframe flow: rows are the channels $u$, $v$ (pixels, diverging
# colours: red = right/down) and strain, columns the keyframes with their normalised motion
# magnitude $m$, the prior for the temporal attention.

# %%
prepared = prepare_clip(clip, config)
fig = vizflow.plot_flow_stack(prepared.flows, prepared.key_indices, prepared.magnitudes)
print(f"flows {prepared.flows.shape} {prepared.flows.dtype}, keyframes {prepared.key_indices.tolist()}")
print(f"true apex {clip.apex}, spotted apex {prepared.truth['spotted_apex']}")

# %% [markdown]
# ## What we learned
# The package has one default flow, `DEFAULT_FLOW = "dis"`, for the keyframes' flow and the
# magnitude curve alike; TV-L1 stays available as `tvl1` (tuned: 2 scales, 1 warp, 30 inner
# and 2 outer iterations) and `tvl1_default`. From this chapter's tables:

# %% tags=["hide-input"]
display(Markdown(flow_sentences(table, config.flow_method) + "\n" + panel_sentences(panel, agreement, clip.clip_id)))
