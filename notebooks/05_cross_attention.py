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
# # Cross-attention, fusion and efficiency
#
# **Where do facial regions look in time when the two branches meet, and what does the
# whole model cost?** STAG's graph and temporal branches meet in a bidirectional
# cross-attention layer: each ROI token queries the keyframe tokens ("when did this region
# move?"), and each keyframe token queries the ROI tokens ("where did the face move in this
# frame?"). This layer has no magnitude prior, so any preference for the apex is learned.
# The table gives, per ROI and over the held-out clips, the share of its graph $\to$ time
# attention that falls on the clip's apex keyframe (largest magnitude), and its ratio to a
# uniform $1/K$.

# %% tags=["parameters", "hide-input"]
seed = 0
n_subjects = 10
clips_per_subject = 8
image_size = 64
keyframes = 8
flow_method = "dis"
epochs = 20
threads = 1
test_subjects = 2
cache_dir = "../.stag-cache"
jobs = 2
models = "all"
bench_sizes = "128"
bench_keyframes = "1,8"
bench_repeats = 10
bench_threads = 1

# %% tags=["hide-input"]
import pandas as pd
import torch
from IPython.display import Markdown, display

from stag.bench.model import efficiency_table
from stag.faces import ROI_NAMES
from stag.models import list_models
from stag.models.findings import cross_answer, cross_findings, efficiency_sentence
from stag.models.inputs import apex_keyframe
from stag.models.summaries import fusion_gate_table
from stag.train import TrainConfig, fit_or_load
from stag.train.experiment import chapter_setup, forward_details
from stag.viz import attention as vizatt

train_config = TrainConfig(epochs=epochs, seed=seed, threads=threads)
bench_models = list_models() if models == "all" else [m.strip() for m in models.split(",")]
sizes = tuple(int(s) for s in bench_sizes.split(","))
ks = tuple(int(k) for k in bench_keyframes.split(","))

# %% tags=["hide-input"]
data = chapter_setup(seed=seed, n_subjects=n_subjects, clips_per_subject=clips_per_subject, image_size=image_size,
                     keyframes=keyframes, flow_method=flow_method, test_subjects=test_subjects,
                     cache_dir=cache_dir, jobs=jobs)
model, _ = fit_or_load("stag", data.train_clips, train_config, cache_dir=cache_dir,
                       num_classes=data.num_classes, prior=data.prior)
out = forward_details(model, data.test)
apex = apex_keyframe(data.test["key_mask"], data.test["magnitudes"])
on_apex = out.cross_graph_to_time.mean(1)[torch.arange(len(apex)), :, apex]  # (B, N): heads averaged
uniform = 1.0 / data.test["key_mask"].sum(1, keepdim=True).float()
per_roi = pd.DataFrame({"share on apex keyframe": on_apex.mean(0).numpy(),
                        "ratio to uniform": (on_apex / uniform).mean(0).numpy()}, index=list(ROI_NAMES))

# %% tags=["hide-input"]
per_roi.sort_values("ratio to uniform", ascending=False).round(3)

# %% tags=["hide-input"]
answer = cross_answer(per_roi, float(on_apex.mean()), float(uniform.mean()), len(apex))
display(Markdown(answer))

# %% [markdown]
# ## How the layer works
# Both directions read the tokens from before the update, so the layer is symmetric. Padded
# keyframes are masked as keys. Each side then goes through its readout: attention over
# ROIs, and the magnitude-prior attention over keyframes. A **gated fusion**
# $y = z \odot g + (1 - z) \odot t$, with $z = \sigma(W[g \Vert t] + b)$, mixes the graph
# vector $g$ and the temporal vector $t$ feature by feature. The late-fusion ablation
# (`stag_late_fusion`) keeps the gate but removes the cross-attention.
#
# The model is the briefly trained STAG of the two previous chapters (same cached subset,
# split and `TrainConfig` schedule; loaded from the cache when they ran first).

# %%
print(f"{len(data.test_clips)} held-out clips; cross-attention maps:")
print(f"graph -> time {tuple(out.cross_graph_to_time.shape)} (B, heads, N, K), "
      f"time -> graph {tuple(out.cross_time_to_graph.shape)} (B, heads, K, N)")

# %% [markdown]
# ## The two maps of one clip
# Left: each ROI's attention over the keyframes, averaged over heads. Right: each keyframe's
# attention over the ROIs. The keyframes are labelled with their frame index.

# %%
i = 0
clip = data.test_clips[i]
fig = vizatt.plot_cross_attention(out.cross_graph_to_time[i].numpy(), out.cross_time_to_graph[i].numpy(), ROI_NAMES,
                                  key_labels=clip.key_indices)
_ = fig.suptitle(f"{clip.clip_id}, true apex at frame {clip.truth.get('apex')}, "
                 f"AUs {'+'.join(map(str, clip.aus))}", y=1.02)

# %% [markdown]
# ## The fusion gate
# The gate $z$ (one value per feature, in $(0, 1)$) is the share of each feature that comes
# from the graph branch. Its mean per clip, by class:

# %%
gates = fusion_gate_table(out.fusion_gate, data.test["label"], list(data.class_names))
ax = vizatt.plot_fusion_gate(gates, title="fusion gate per held-out clip")
gates.groupby("class")[["graph_share", "features_mostly_graph"]].mean().round(3)

# %% [markdown]
# ## Efficiency
# Every registered model runs on random inputs of the uniform interface. Parameters and
# forward FLOPs come from `torch.utils.flop_counter` (batch 1; resampling and element-wise
# operations are not counted). CPU latency is the best of the repeats at batch 1, with one
# torch thread (`bench_threads`) so that other work on the machine disturbs it least, and
# the median is given too. Both were measured on the machine that ran this book, and
# `stag bench model` gives the full table (64x64 input and batch 32 too). HTNet is measured in
# the same run at its published size.

# %%
table = efficiency_table(bench_models, sizes=sizes, keyframes=ks, batches=(1,), repeats=bench_repeats, budget_s=0.3,
                         threads=bench_threads, seed=seed)
ax = vizatt.plot_efficiency(table)
view = table.drop(columns=["batch", "ms_per_batch", "threads"]).round({"gflops_per_clip": 4, "ms_per_clip": 2,
                                                            "ms_per_clip_median": 2, "clips_per_s": 0})
view.set_index(["model", "size", "K"])

# %%
display(Markdown(efficiency_sentence(table)))

# %% [markdown]
# ## What we learned

# %% tags=["hide-input"]
display(Markdown(cross_findings(answer=answer, gates=gates, efficiency=table)))
