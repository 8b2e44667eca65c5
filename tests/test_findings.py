"""stag.models.findings: the architecture chapters' sentences, from hand-made tables."""

import numpy as np
import pandas as pd
import pytest

from stag.models import findings as F


def _parameters(**parts):
    table = pd.DataFrame({"parameters": parts}).rename_axis("part")
    table.loc["total"] = sum(parts.values())
    return table


def _edges():
    return pd.DataFrame({"to": ["a", "b", "c"], "from": ["b", "c", "a"], "prior": [0.5, 1.0, 0.25],
                         "learned": [0.6, 1.0, 0.2], "std_across_clips": [0.06, 0.1, 0.02],
                         "ratio": [1.2, 1.0, 0.8]})


def test_graph_answer_and_findings_word_the_numbers():
    edges = _edges()
    flat = pd.DataFrame({"ratio": [1.0, 1.02, 0.98, 1.01]})
    text = F.graph_answer(edges, flat, 4)
    assert text.startswith("On 4 held-out clips, the connections are clip-specific: an edge weight varies by 0.060 "
                           "from clip to clip (standard deviation, 10% of its mean weight")
    assert "the graph readout does not single out the regions that moved: it puts 1.00 times" in text
    assert "reads the regions that moved" in F.graph_answer(edges, pd.DataFrame({"ratio": [1.3, 1.2, 1.5, 0.9]}), 4)
    prior = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 1.0]])
    adjacency = np.stack([prior, prior])
    parameters = _parameters(node_encoder=10, connectivity=5, graph=20, graph_readout=5, temporal=50, temporal_pool=10)
    text = F.graph_findings(parameters=parameters, edges=edges, prior=prior, adjacency=adjacency,
                            betas={"layer 1": [1.0, 1.01], "layer 2": [0.99, 1.0]}, loc=flat, epochs=20,
                            train_accuracy=0.9, test_accuracy=0.5, test_uf1=0.45, n_test=8)
    lines = text.splitlines()
    assert len(lines) == 4 and all(line.startswith("- ") for line in lines)
    assert "has 40 of STAG's 100 parameters (40%); the temporal branch has 60 (60%)" in lines[0]
    assert "90% of the training clips and 50% of the 8 held-out clips" in lines[0]
    assert "from 0.80 (c from a) to 1.20 (a from b)" in lines[1]
    assert "The 2 directed edges the prior cuts stay at exactly 0 in every clip." in lines[1]
    assert "range from 0.99 to 1.01 after 20 epochs" in lines[2] and "left them where they started" in lines[2]
    moved = F.graph_findings(parameters=parameters, edges=edges, prior=prior, adjacency=adjacency + 0.1,
                             betas={"layer 1": [1.0, 1.4]}, loc=flat, epochs=20, train_accuracy=0.9,
                             test_accuracy=0.5, test_uf1=0.45, n_test=8)
    assert "training moved them by up to 0.40" in moved and "reach at most 0.1." in moved
    assert lines[3].startswith("- The graph readout does not single out")


def test_temporal_answer_says_whether_the_prior_or_learning_does_the_work():
    summary = pd.DataFrame({"apex_weight": [0.17, 0.13], "uniform": [0.125, 0.125], "spearman": [0.96, 0.35]},
                           index=["stag", "stag_no_mag_prior"])
    close = pd.DataFrame({"prior_apex_weight": [0.16, 0.17, 0.18], "shift": [0.01, 0.02, 0.01]})
    text = F.temporal_answer(summary, close, strength=1.01)
    assert text.startswith("With the prior, the median held-out clip puts 0.170 of its temporal attention on the apex "
                           "keyframe (uniform 0.125; without the prior 0.130)")
    assert "$s = 1.01$" in text and "would put 0.170 there" in text and "by 0.010 on average" in text
    assert text.endswith("the prior, not learning, puts the attention on the apex.")
    far = pd.DataFrame({"prior_apex_weight": [0.14], "shift": [0.05]})
    assert F.temporal_answer(summary, far, strength=1.0).endswith("the learned score sharpened the prior's choice.")
    assert F.temporal_answer(summary, close, strength=1.5).endswith("training sharpened the prior itself.")
    assert F.temporal_answer(summary, close, strength=0.5).endswith("training relaxed the prior itself.")
    parameters = _parameters(node_encoder=10, graph=20, temporal=50, temporal_pool=10)
    text = F.temporal_findings(answer="A.", parameters=parameters, strengths={"temporal pooling": 1.01, "ROI": 0.99},
                               scores={"stag": {"uf1": 0.6}, "stag_no_mag_prior": {"uf1": 0.55}}, n_test=16)
    assert "has 60 of STAG's 90 parameters (67%), more than any other part." in text
    assert "from 1 to 1.010 (temporal pooling), 0.990 (ROI): the prior acts with the strength it was given." in text
    assert "UF1 `stag` 0.60, `stag_no_mag_prior` 0.55" in text and "- A." in text


def test_cross_answer_and_findings():
    uniform = pd.DataFrame({"ratio to uniform": [0.99, 1.0, 0.998]}, index=["a", "b", "c"])
    text = F.cross_answer(uniform, 0.124, 0.125, 16)
    assert text.startswith("Over 16 held-out clips and 3 ROIs, 0.124 of the graph $\\to$ time attention falls on the "
                           "apex keyframe against a uniform 0.125; 0 of 3 ROIs read the apex more than uniform")
    assert "have not learned to look at the apex" in text
    apex = pd.DataFrame({"ratio to uniform": [1.5, 1.3, 0.9]}, index=["a", "b", "c"])
    assert "most regions learned to read the apex" in F.cross_answer(apex, 0.2, 0.125, 16)
    gates = pd.DataFrame({"class": ["neg", "neg", "pos"], "graph_share": [0.45, 0.55, 0.48]})
    eff = pd.DataFrame({"model": ["stag", "stag_no_graph", "ststnet", "htnet"], "params": [3e5, 1e5, 1e3, 1.2e8],
                        "size": 128, "K": 8, "batch": 1, "gflops_per_clip": [0.07, 0.03, 0.001, 0.4],
                        "ms_per_clip": [4.0, 2.0, 0.5, 70.0], "ms_per_clip_median": [5.0, 2.5, 0.6, 80.0],
                        "threads": 1})
    text = F.cross_findings(answer="A.", gates=gates, efficiency=eff)
    assert "0.49 of each feature from the graph branch on average (neg 0.50, pos 0.48 by class): both branches" in text
    assert ("STAG at 128x128, K=8, batch 1: 300 k parameters, 70.0 MFLOP, 4.00 ms per clip (best of repeats; median "
            "5.00 ms; 1 thread), within the 10 ms target.") in text
    assert "`htnet` at its published size, measured in the same run, has 400x the parameters and takes 70.0 ms." in text
    assert "Its ablations take 2.00 to 2.00 ms, the other models 0.50 to 0.50 ms." in text
    assert "was not measured" in F.efficiency_sentence(eff, model="nope")


@pytest.mark.parametrize("ratio, expected", [(1.3, "reads"), (0.8, "leans away"), (1.02, "does not single out")])
def test_readout_wording_follows_the_ratio(ratio, expected):
    assert expected in F._readout(pd.DataFrame({"ratio": [ratio] * 4}))
