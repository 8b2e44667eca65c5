"""Each evaluation chapter's answer as one call: its tables and its sentences, computed once.

A chapter and the book's introduction ask the same question of the same records, so both call
the same function here and show the same numbers:

- :func:`real_data`: chapter "Real data: the MEGC2019 composite" (``results/megc2019``);
- :func:`synthetic_study`: chapter "What each part of STAG buys" (``results/synthetic_*``);
- :func:`two_phase`: chapter "Motion over time on real faces" (``results/megc2019_phases``);
- :func:`real_faces`: chapter "Real faces" (``results/megc2019_explain``).

Folders are always passed in; the chapters' parameters default to the repository's
``results/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from stag.results import real_faces as faces
from stag.results import synthetic_study as ss
from stag.results import tables
from stag.results import two_phase as tp
from stag.results.landmarks import landmark_table
from stag.results.reproduce import load_or_retrain
from stag.results.sentences import comparison_sentence, component_sentence, ensemble_sentence
from stag.train.records import HONEST, tried


@dataclass
class Answer:
    """A chapter's answer: named tables and named sentences (and, for provenance, anything else
    it read in ``extra``). ``empty`` when no record was found."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    sentences: dict[str, str] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        runs = self.tables.get("runs")
        return runs is None or len(runs) == 0


def real_data(records: str | Path, data_root: str | Path = "", device: str = "auto",
              out_root: str | Path = "runs/megc2019-retrain") -> Answer:
    """The recorded MEGC2019 composite runs (or, with ``data_root``, the same runs retrained
    on that copy, :func:`~stag.results.reproduce.load_or_retrain`), re-scored.

    Tables: ``runs``, ``summary``, ``headline`` (honest rows), ``oracle`` (the oracle rows),
    ``per_dataset``, ``comparison``, ``ensembles``, ``ensemble_comparison``, ``components``,
    ``lodo``, ``provenance``, ``landmarks``. Sentences: ``comparison``, ``ensemble``,
    ``components``, ``tried`` (the committed list of what was tried). ``extra``:
    ``landmark_provenance`` and ``confusions`` (last epoch, summed over seeds, per model).
    """
    table = load_or_retrain(records, data_root, device, out_root=out_root)
    summ = tables.summary(table)
    comparison = tables.compare(table)
    ensembles = tables.ensembles(table)
    ensemble_comparison = tables.ensemble_compare(table)
    components = tables.components(table, keyframes=1)
    landmarks, landmark_provenance = landmark_table(records, data_root)
    return Answer(
        tables={"runs": table, "summary": summ, "headline": tables.headline(summ, selections=HONEST),
                "oracle": tables.headline(summ, selections=("oracle",)), "per_dataset": tables.per_dataset(summ),
                "comparison": comparison, "ensembles": ensembles, "ensemble_comparison": ensemble_comparison,
                "components": components, "lodo": tables.lodo(table), "provenance": tables.provenance_table(table),
                "landmarks": landmarks},
        sentences={"comparison": comparison_sentence(table, comparison),
                   "ensemble": ensemble_sentence(ensembles, ensemble_comparison) if len(ensembles) else "",
                   "components": component_sentence(components), "tried": tried(records)},
        extra={"landmark_provenance": landmark_provenance,
               "confusions": tables.confusions(table, selection="last")})


def synthetic_study(results_root: str | Path) -> Answer:
    """The recorded synthetic component study (:mod:`stag.results.synthetic_study`).

    Tables: ``runs`` (the study), ``summary``, ``headline``, ``components``, ``controls``,
    ``paired`` (both, for the figure), ``apex_runs``, ``apex``, ``flow_runs``, ``flows``,
    ``flow_decision``, ``provenance``. Sentences: ``study``, ``apex``, ``flow``, ``tried``;
    ``extra["flow_choice"]`` is the preset the pre-registered rule picks.
    """
    root = Path(results_root)
    study = ss.load(root / ss.FOLDERS["study"])
    if study.empty:
        return Answer(tables={"runs": study})
    summ = tables.summary(study)
    components = ss.component_table(study)
    controls = ss.controls_table(study)
    apex_runs = ss.load(root / ss.FOLDERS["apex"])
    apex = ss.apex_table(apex_runs, study)
    flow_runs = ss.load(root / ss.FOLDERS["flow"])
    flows = ss.flow_table(flow_runs, study)
    chosen, decision = None, pd.DataFrame()
    if len(flows) and (root / ss.FOLDERS["flow"] / "bench.csv").exists():
        chosen, decision = ss.flow_decision(ss.flow_bench(root / ss.FOLDERS["flow"]), flows)
    sentences = {"study": ss.study_sentences(summ, components, controls),
                 "apex": ss.apex_sentence(apex) if len(apex) else "",
                 "flow": ss.flow_sentence(chosen, decision) if len(decision) else "",
                 "tried": tried(root / ss.FOLDERS["study"])}
    return Answer(
        tables={"runs": study, "summary": summ, "headline": tables.headline(summ, selections=("last",)),
                "components": components, "controls": controls, "paired": ss.paired_rows(components, controls),
                "apex_runs": apex_runs, "apex": apex, "flow_runs": flow_runs, "flows": flows,
                "flow_decision": decision,
                "provenance": tables.provenance_table(pd.concat([study, apex_runs, flow_runs], ignore_index=True))},
        sentences=sentences, extra={"flow_choice": chosen})


def real_faces(records: str | Path) -> Answer:
    """The real-face explanation scores recorded in ``records`` (``<run>.csv`` + ``<run>.json``;
    a folder :func:`stag.explain.real_faces.recompute_scores` wrote reads the same), re-scored.

    Tables: ``runs`` (the per-clip scores), ``summary`` (gains over chance), ``paired``,
    ``provenance``, ``examples``. Sentences: ``explanations`` (the chapter's) and ``intro``.
    ``extra``: ``source`` (the scores' folder) and ``exclusions`` (the counts left out).
    """
    source = Path(records)
    scores = faces.load_scores(source)
    if not len(scores):
        return Answer(tables={"runs": scores}, extra={"source": source})
    summ = faces.gain_summary(scores)
    pairs = faces.paired(scores)
    counts = faces.exclusions(source)
    return Answer(
        tables={"runs": scores, "summary": summ, "paired": pairs, "provenance": faces.provenance(source),
                "examples": faces.example_clips(scores, "stag")},
        sentences={"explanations": faces.explanation_sentences(summ, pairs, counts),
                   "intro": faces.explanation_intro_sentence(summ, pairs)},
        extra={"source": source, "exclusions": counts})


def two_phase(records: str | Path) -> Answer:
    """The recorded two-phase study (:mod:`stag.results.two_phase`): does motion over time help
    STAG on real faces?

    Tables: ``runs``, ``summary``, ``headline``, ``per_dataset``, ``methods`` (the method minus
    every baseline, control and ablation), ``questions`` (K = 2 against K = 1, pretraining
    against none, the controls' own questions), ``targets``, ``paired`` (both, for the
    figure), ``ensembles``,
    ``ensemble_comparison``, ``pretraining`` (what each pretrained run's start cost),
    ``provenance``. Sentences: ``answer``, ``ensemble``, ``tried``. ``extra``: ``best`` (the
    best baseline) and ``confusions``.
    """
    table = tp.load(records)
    if table.empty:
        return Answer(tables={"runs": table}, sentences={"answer": tp.two_phase_sentences(table, table, table, table),
                                                         "tried": tried(records)})
    summ = tables.summary(table)
    methods = tp.method_table(table, summ)
    questions = tp.questions_table(table)
    targets = tp.targets_table(summ, methods)
    best = tp.best_baseline(summ)
    ensembles = tables.ensembles(table, selection="last")
    ensemble_comparison = (tables.ensemble_compare(table, tp.METHOD, best, selection="last")
                           if best and tp.METHOD in set(table["model"]) else pd.DataFrame())
    pretraining = tp.pretraining_table(table)
    return Answer(
        tables={"runs": table, "summary": summ, "headline": tables.headline(summ, selections=("last",)),
                "per_dataset": tables.per_dataset(summ), "methods": methods, "questions": questions,
                "targets": targets, "paired": tp.paired_rows(methods, questions), "ensembles": ensembles,
                "ensemble_comparison": ensemble_comparison,
                "pretraining": pretraining, "provenance": tables.provenance_table(table)},
        sentences={"answer": tp.two_phase_sentences(summ, methods, questions, targets),
                   "ensemble": (ensemble_sentence(ensembles, ensemble_comparison)
                                if len(ensembles) and len(ensemble_comparison) else ""),
                   "tried": tried(records)},
        extra={"best": best, "confusions": tables.confusions(table, selection="last")})
