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
# # The AU graph branch
#
# **Does STAG's graph branch learn clip-specific connections between facial regions, and
# does it read the regions that actually moved?** The branch treats the face as a graph:
# each node is a region of interest (ROI) tied to facial action units (AUs), and the
# adjacency starts from an AU co-occurrence prior that a learned gate re-weights for every
# clip. The figure shows the prior (left) and how a briefly trained STAG re-weighted it on
# held-out clips: the ratio of the adjacency its graph layers used, averaged over clips, to
# the prior, in $\log_2$ (right: red edges were strengthened, blue ones weakened, blank ones
# are cut by the prior).

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

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown, display

from stag.faces import ROI_NAMES, ROI_TABLE
from stag.models.findings import graph_answer, graph_findings
from stag.models.summaries import adjacency_edges, parameter_table, roi_attention_vs_aus
from stag.train import TrainConfig, evaluate, fit_or_load
from stag.train.experiment import chapter_setup, forward_details
from stag.viz import graph as vizgraph
from stag.viz.rois import plot_adjacency, plot_rois, roi_table_frame

train_config = TrainConfig(epochs=epochs, seed=seed, threads=threads)

# %% tags=["hide-input"]
data = chapter_setup(seed=seed, n_subjects=n_subjects, clips_per_subject=clips_per_subject, image_size=image_size,
                     keyframes=keyframes, flow_method=flow_method, test_subjects=test_subjects,
                     cache_dir=cache_dir, jobs=jobs)
model, history = fit_or_load("stag", data.train_clips, train_config, cache_dir=cache_dir,
                             num_classes=data.num_classes, prior=data.prior)
out = forward_details(model, data.test)
base = model.connectivity.base.numpy()

# %% tags=["hide-input"]
fig = vizgraph.plot_adjacency_comparison(base, out.adjacency.mean(0).numpy(), ROI_NAMES)

# %% tags=["hide-input"]
edges = adjacency_edges(base, out.adjacency, ROI_NAMES).dropna()
loc = roi_attention_vs_aus(out.node_attention, [p.aus for p in data.test_clips], [r.aus for r in ROI_TABLE])
display(Markdown(graph_answer(edges, loc, len(data.test_clips))))

# %% [markdown]
# The rest of the chapter takes the branch apart:
#
# - the ROIs on an aligned face, and the AUs each one carries;
# - how a node gets its features: the ROI is cropped from every keyframe's flow inside the
#   model (`F.grid_sample`, differentiable), encoded by a small shared CNN, and pooled over
#   keyframes with attention that starts from the motion magnitude;
# - the **AU-guided dynamic connectivity**: the prior times a learned gate on node-feature
#   similarity;
# - the **enhanced graph attention (E-GAT)** layers: multi-head attention over ROIs with a
#   per-head edge bias $\beta_h \log A_{ij}$, then residual, LayerNorm and feed-forward.
#
# The model is trained here only on the training subjects, for a fixed number of epochs
# (`stag.train.fit_or_load`, the loop of every protocol run), to make its adjacency and
# attention meaningful. Recognition scores under proper protocols are in the training
# chapter.
#
# ## Data
# A small synthetic set keeps the chapter short. Its flow stacks are prepared by
# the pipeline of the preprocessing chapter and cached, so the next two chapters reuse them.
# The last subjects are held out. The model never trains on them, and every map in this
# chapter is computed on them.

# %%
print(f"{len(data.prepared)} clips: {len(data.train_clips)} for training, {len(data.test_clips)} held out "
      f"(subjects {', '.join(data.held_out)})")
print(f"flow stack per clip {tuple(data.prepared[0].flows.shape)} (K, C, H, W), {data.prepared[0].rois.shape[0]} ROIs")

# %% [markdown]
# ## The regions and their action units
# Landmarks place every box: the bounding box of a few landmarks, padded and given a
# minimum size in units of the inter-ocular distance. Sides are the subject's, so `_R`
# regions appear on the left of the image. The table gives the AUs of each region. The AU
# prior and the AU-localisation scores of the explanation chapter both use it.

# %%
example = data.test_clips[0]
ax = plot_rois(example.face, example.rois, ROI_NAMES, title=f"{example.clip_id}: aligned apex face and ROIs")

# %%
roi_table_frame()

# %% [markdown]
# ## The AU co-occurrence prior
# Two regions are linked as strongly as their AUs co-occur in the FACS prototypes of the
# basic emotions (`stag.faces.au_prior_adjacency`). The two inner brows share AU1
# and AU4 and get weight 1. Cheeks (AU6) and mouth corners (AU12) meet in happiness. Brows
# and lips rarely meet. A zero in the prior is a hard cut. The dynamic gate multiplies the
# prior, so it can re-weight an edge but never create one that the AUs rule out.

# %%
ax = plot_adjacency(data.prior, ROI_NAMES, title="AU prior adjacency between ROIs")
print(f"prior: {int((data.prior > 0).sum() - len(data.prior))} of {len(data.prior) * (len(data.prior) - 1)} "
      "directed edges are non-zero")

# %% [markdown]
# ## The model and its parts
# `build("stag", prior=...)` assembles the full model. Each ablation in the registry removes
# one part (its submodule is `None`). The graph branch is the node encoder, connectivity,
# E-GAT and readout; the closing bullets give its share of the parameters.

# %%
parameter_table(model)

# %% [markdown]
# ## Brief training
# The schedule is fixed (`TrainConfig`: AdamW, warm-up then cosine decay, focal loss with
# class-balanced $\alpha$, face-aware augmentation), on the training subjects only. There is
# no early stopping and no epoch selection. The held-out accuracy below comes from only a
# handful of clips and shows that the model learned something. It is not a benchmark.

# %%
train_scores, test_scores = evaluate(model, data.train), evaluate(model, data.test)
print(f"training loss: epoch 1 {history[0]['train_loss']:.3f} -> epoch {len(history)} {history[-1]['train_loss']:.3f}")
print(f"accuracy: training clips {train_scores['accuracy']:.2f}, {len(data.test_clips)} held-out clips "
      f"{test_scores['accuracy']:.2f} (UF1 {test_scores['uf1']:.2f})")

# %% [markdown]
# ## The edges that training moved most
# Per edge, the prior, the mean learned weight over held-out clips, their ratio, and the
# spread of the weight across clips.

# %%
pd.concat([edges.head(5), edges.tail(5)]).round(3)

# %% [markdown]
# ## Graph attention
# E-GAT attention of the last layer for one held-out clip, one map per head. Row $i$ is how
# ROI $i$ gathers from the others. Each head has its own learned edge-bias strength
# $\beta_h$: a large $\beta_h$ follows the AU graph closely, and $\beta_h \approx 0$ ignores it.
# The table gives the learned $\beta_h$ of every layer and head; all start at 1.

# %%
i = 0
fig = vizgraph.plot_graph_attention(out.graph_attention[i].numpy(), ROI_NAMES,
                                    title=f"{data.test_clips[i].clip_id}: last E-GAT layer")
betas = {f"layer {j + 1}": layer.edge_scale.tolist() for j, layer in enumerate(model.graph.layers)}
pd.DataFrame(betas, index=[f"head {h + 1}" for h in range(len(next(iter(betas.values()))))]).T.round(3)

# %% [markdown]
# ## The graph on the face
# The same clip's adjacency, drawn on its aligned face. The lines are the strongest edges.
# The node area is the readout attention that pools the ROIs into the graph vector,
# relative to a uniform readout.

# %%
clip = data.test_clips[i]
ax = vizgraph.plot_roi_graph(clip.face, clip.rois, out.adjacency[i].numpy(), ROI_NAMES,
                             node_weights=out.node_attention[i].numpy(),
                             title=f"{clip.clip_id} ({'+'.join(f'AU{a}' for a in clip.aus)})")

# %% [markdown]
# ## Does the readout look at the moving regions?
# Synthetic clips come with their true active AUs. For each held-out clip, we compare the
# mean readout weight on ROIs that carry an active AU with the mean on the other ROIs: the
# ratio of the opening answer. Nothing in training asks for this; the explanation chapter
# measures it properly with attributions.

# %%
loc.describe().loc[["mean", "50%", "min", "max"], ["active_mean", "other_mean", "ratio"]].round(3)

# %% [markdown]
# ## What we learned
# The graph branch turns the AU-linked ROIs into nodes with one shared CNN, a learned ROI
# embedding and magnitude-guided keyframe pooling, links them by the AU prior times a
# per-clip gate, and lets E-GAT heads follow that graph with a learned strength. On this
# small set and short training:

# %% tags=["hide-input"]
display(Markdown(graph_findings(parameters=parameter_table(model), edges=edges, prior=base, adjacency=out.adjacency,
                                betas=betas, loc=loc, epochs=len(history), train_accuracy=train_scores["accuracy"],
                                test_accuracy=test_scores["accuracy"], test_uf1=test_scores["uf1"],
                                n_test=len(data.test_clips))))
