"""Each evaluation chapter's answer as one call: its tables and its sentences, computed once.

Live chapters (they train or explain in the build, then ask):

- :func:`training`: chapter "Training and honest evaluation" (the runs it just trained);
- :func:`explanations`: chapter "Explanations" (an explanation of chapter 6's folds);
- :func:`efficiency`: chapter "What it costs" (chapter 6's tables and a benchmark).

Recorded chapters (a chapter and the book's introduction ask the same question of the same
records, so both call the same function here and show the same numbers):

- :func:`registered`: chapter "STAG's own parts on real faces" (``results/registered``);
- :func:`synthetic_study`: chapter "What each part of STAG buys" (``results/synthetic_*``);
- :func:`real_faces`: chapter "Explanations on real faces" (``results/*_explain``);
- :func:`real_data` and :func:`two_phase`: the appendix's superseded studies (``results/megc2019``,
  ``results/megc2019_phases``);
- :func:`abstract`: the book's introduction: every paired comparison made on real faces, the
  current study's and the superseded ones', and the few sentences that state the decisions.

Folders are always passed in; the chapters' parameters default to the repository's
``results/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from stag.results import efficiency as eff
from stag.results import explanations as xp
from stag.results import protocol_runs
from stag.results import real_faces as faces
from stag.results import registered as reg
from stag.results import synthetic_study as ss
from stag.results import tables
from stag.results import two_phase as tp
from stag.results.landmarks import landmark_table
from stag.results.reproduce import load_or_retrain
from stag.results.sentences import comparison_sentence, component_sentence, ensemble_sentence, training_sentences
from stag.train.names import RunName
from stag.train.records import HONEST, load_records, records_table, tried


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


def real_faces(records: str | Path, *, superseded: str | Path | None = None) -> Answer:
    """The real-face explanation scores recorded in ``records`` (``<run>.csv`` + ``<run>.json``;
    a folder :func:`stag.explain.real_faces.recompute_scores` wrote reads the same), re-scored;
    while ``records`` holds none, those of ``superseded`` (``extra["superseded"]`` says so).

    Tables: ``runs`` (the per-clip scores), ``summary`` (gains over chance), ``paired``,
    ``provenance``, ``examples``. Sentences: ``explanations`` (the chapter's) and ``intro``.
    ``extra``: ``source`` (the scores' folder), ``superseded`` and ``exclusions`` (the counts
    left out).
    """
    source = Path(records)
    if superseded is not None and not any(source.glob("*.csv")):  # an absent folder holds none either
        return _with_extra(real_faces(superseded), superseded=True)
    scores = faces.load_scores(source, selection=None)  # one study per folder: every run it holds
    if not len(scores):
        return Answer(tables={"runs": scores}, extra={"source": source, "superseded": False})
    summ = faces.gain_summary(scores)
    pairs = faces.paired(scores)
    counts = faces.exclusions(source)
    return Answer(
        tables={"runs": scores, "summary": summ, "paired": pairs, "provenance": faces.provenance(source),
                "examples": faces.example_clips(scores, "stag")},
        sentences={"explanations": faces.explanation_sentences(summ, pairs, counts),
                   "intro": faces.explanation_intro_sentence(summ, pairs)},
        extra={"source": source, "exclusions": counts, "superseded": False})


def _with_extra(answer: Answer, **extra) -> Answer:
    answer.extra.update(extra)
    return answer


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


def registered(root: str | Path, *, reused_from: str | Path | None = None) -> Answer:
    """The real-face study on audited inputs (:mod:`stag.results.registered`).

    Tables: ``runs``, ``summary`` (both copies, a ``copy`` column), ``headline`` (per copy, in
    ``extra["headlines"]``), ``comparisons`` (every paired comparison: baselines, parts, time),
    ``per_dataset``, ``targets``, ``status`` (the pre-registered runs and their seeds),
    ``ensembles`` (per copy), ``audit`` (per copy and source dataset), ``audit_checks`` (per copy),
    ``provenance``. Sentences: ``answer`` (Markdown bullets), ``tried``. ``extra``: ``headlines``
    (copy -> table), ``answer_lines`` (the bullets as a list), ``audit_figures`` (paths).
    """
    root = Path(root)
    table = reg.load(root, reused_from=reused_from)
    summary = reg.summaries(table)
    comps = reg.comparisons(table)
    targets = reg.targets(summary, comps) if len(summary) else reg.targets(pd.DataFrame(columns=["copy", "model"]),
                                                                             comps)
    status = reg.status(table)
    lines = reg.answer_sentences(summary, comps, targets, status)
    headlines, ensembles = {}, []
    for c in reg.COPIES:
        s = summary[summary["copy"] == c.folder] if len(summary) else summary
        headlines[c.folder] = tables.headline(s, selections=("last",)) if len(s) else pd.DataFrame()
        t = table[table["copy"] == c.folder]
        if len(t):
            ensembles.append(tables.ensembles(t, selection="last").assign(copy=c.folder))
    audit, audit_checks = reg.audit_summary(root)
    return Answer(
        tables={"runs": table[~table["reused"]] if len(table) else table, "summary": summary, "comparisons": comps,
                "per_dataset": reg.per_dataset(summary), "targets": targets, "status": status,
                "ensembles": pd.concat(ensembles, ignore_index=True) if ensembles else pd.DataFrame(),
                "audit": audit, "audit_checks": audit_checks, "provenance": tables.provenance_table(table)},
        sentences={"answer": "\n".join(f"- {line}" for line in lines), "tried": tried(root)},
        extra={"headlines": headlines, "answer_lines": lines, "audit_figures": reg.audit_figures(root)})


#: The real-face studies of the introduction's figure: (folder under the results root, label,
#: status). Only the first is current; the others read their inputs wrongly and are kept in the
#: appendix "How this study was made".
REAL_FACE_STUDIES: tuple[tuple[str, str, str], ...] = (
    ("registered", "audited inputs", "current"),
    ("megc2019", "first copy, channels read in the wrong order", "read wrongly"),
    ("megc2019_phases", "two-phase copy, ROIs not registered to the flows", "read wrongly"),
)


def abstract(results_root: str | Path) -> Answer:
    """The introduction's answer: every paired comparison the book makes on real faces (STAG
    against each baseline and each ablation), from the current study and, marked ``read
    wrongly``, from the superseded ones; and at most a handful of sentences that state the
    decisions (the current study's, and the synthetic component study's). Only the tables these
    need are computed (each the same function as its chapter's).

    Tables: ``comparisons`` (``study, status, copy, kind, a, b, measures, diff_mean, ci_low,
    ci_high, verdict``), ``summary`` (the current study's). Sentences: ``abstract`` (the real-face
    decisions, above the figure), ``more`` (runs still to record, the synthetic decision; below
    it). ``extra``: ``headlines`` (the current study's per copy), ``abstract_lines`` (both, in order).
    """
    root = Path(results_root)
    table = reg.load(root / "registered", reused_from=root)
    summary, comps = reg.summaries(table), reg.comparisons(table)
    targets, status = reg.targets(summary, comps), reg.status(table)
    first = load_records(root / "megc2019")
    parts = tables.components(first, keyframes=1) if len(first) else pd.DataFrame()
    parts = parts[parts["seeds"] > 0] if len(parts) else parts
    versus = tables.compare(first) if len(first) else pd.DataFrame()
    versus = versus[versus["selection"] == "last"] if len(versus) else versus
    phases = tp.load(root / "megc2019_phases")
    methods = tp.method_table(phases, tables.summary(phases)) if len(phases) else pd.DataFrame()
    rows = [comps.assign(study=REAL_FACE_STUDIES[0][1], status="current"),
            versus.assign(copy="megc2019", kind="baseline", study=REAL_FACE_STUDIES[1][1], status="read wrongly"),
            pd.DataFrame({"copy": "megc2019", "kind": "part", "a": "stag", "b": parts.get("model", []),
                          "measures": parts.get("removes", []), "diff_mean": parts.get("stag_minus_model", []),
                          "ci_low": parts.get("ci_low", []), "ci_high": parts.get("ci_high", []),
                          "verdict": parts.get("verdict", []), "study": REAL_FACE_STUDIES[1][1],
                          "status": "read wrongly"}),
            methods.assign(copy="megc2019_phases", study=REAL_FACE_STUDIES[2][1], status="read wrongly",
                           kind=["part" if RunName.parse(b).is_stag_family else "baseline" for b in methods.get("b", [])])]
    cols = ["study", "status", "copy", "kind", "a", "b", "measures", "diff_mean", "ci_low", "ci_high", "verdict"]
    comparisons = pd.concat([r.reindex(columns=cols) for r in rows if len(r)], ignore_index=True) if any(
        len(r) for r in rows) else pd.DataFrame(columns=cols)
    lines = reg.abstract_sentences(summary, comps, targets, status)
    said = not (summary.empty or comps.empty)  # else the abstract's one sentence says what is recorded
    more = [s for s in [reg.pending_sentence(status) if said else ""] if s]
    study = ss.load(root / ss.FOLDERS["study"])
    if len(study):
        more.append(ss.decision_sentence(ss.component_table(study)))
    headlines = {c.folder: tables.headline(summary[summary["copy"] == c.folder], selections=("last",))
                 if len(summary) else pd.DataFrame() for c in reg.COPIES}
    return Answer(tables={"comparisons": comparisons, "summary": summary},
                  sentences={"abstract": " ".join(lines), "more": " ".join(more)},
                  extra={"headlines": headlines, "abstract_lines": lines + more})


def training(honest, oracle=(), cross=(), *, protocol: str = "loso", epochs: int | None = None) -> Answer:
    """The protocol chapter's answer on runs it just trained (live
    :class:`~stag.train.records.RunRecord` objects): honest runs, oracle runs of the same
    models (the test-subject epoch selection several repositories use) and cross-dataset runs.

    Tables: ``runs`` (:func:`stag.results.protocol_runs.runs_table`, re-scored), ``summary``,
    ``headline``, ``per_dataset``, ``oracle_comparison``, ``oracle_check`` (the oracle run's own
    last epoch against the honest run), ``cross``. Sentences: ``findings``. ``extra``:
    ``confusions`` (model, confusion summed over folds) of the first seed.
    """
    honest, oracle, cross = list(honest), list(oracle), list(cross)
    summary = tables.summary(records_table(honest), protocol=protocol)
    comparison = protocol_runs.oracle_comparison(oracle)
    cross_table = protocol_runs.cross_dataset_table(cross)
    first = min((r.seed for r in honest), default=None)
    return Answer(
        tables={"runs": protocol_runs.runs_table(honest), "summary": summary,
                "headline": tables.headline(summary, selections=("last",)),
                "per_dataset": protocol_runs.per_dataset_table(honest), "oracle_comparison": comparison,
                "oracle_check": protocol_runs.oracle_reproduces_honest(honest, oracle), "cross": cross_table,
                "oracle_runs": protocol_runs.runs_table(oracle)},
        sentences={"findings": training_sentences(summary, comparison, cross_table, epochs=epochs,
                                                  protocol=protocol)},
        extra={"confusions": [(r.model, r.confusion) for r in honest if r.seed == first], "seed": first})


def explanations(explanation, methods) -> Answer:
    """The explanation chapter's answer from an explanation of trained folds
    (:func:`stag.explain.study.explain_run`; read by its attributes).

    Tables: every table of :func:`stag.results.explanations.interpretability_tables` (``localisation,
    completeness, per_class, per_outcome, channels, roi, faithfulness, faithfulness_roi,
    agreement``). Sentences: ``answer`` (one sentence) and ``findings`` (the list). ``extra``:
    ``tables`` (the :class:`~stag.results.explanations.InterpretabilityTables`), ``keyframes``.
    """
    t = xp.interpretability_tables(explanation, methods)
    return Answer(tables={name: getattr(t, name) for name in ("localisation", "per_class", "per_outcome", "channels",
                                                              "roi", "faithfulness", "faithfulness_roi", "agreement")}
                  | {"completeness": t.completeness.to_frame().T},
                  sentences={"answer": xp.lift_sentence(t), "findings": xp.lift_sentences(t)},
                  extra={"tables": t, "keyframes": t.keyframes})


def efficiency(runs: pd.DataFrame, summary: pd.DataFrame, bench: pd.DataFrame, *, models, reference: str = "htnet",
               batches=(1, 32), oracle: pd.DataFrame | None = None) -> Answer:
    """The efficiency chapter's answer: the protocol chapter's saved ``runs`` and ``summary``
    tables joined with a model benchmark (:func:`stag.bench.model.efficiency_table`).

    Tables: ``cost`` (:func:`stag.results.efficiency.cost_table`), ``timing``, ``points`` (one row
    per model: score and costs), ``headline``, ``oracle`` (the protocol chapter's oracle
    inflation, when it ran). Sentences: ``tradeoff`` (Markdown bullets).
    """
    names = [m for m in models if m in set(runs["model"])]
    summary = summary[summary["model"].isin(names)].reset_index(drop=True)
    cost = eff.cost_table(bench, reference=reference, batches=tuple(batches))
    timing = eff.training_time_table(runs, names)
    points = eff.accuracy_vs_cost(summary, bench, timing, batch=min(batches))
    lines = eff.tradeoff_sentences(points, cost, model="stag", reference=reference)
    return Answer(tables={"runs": runs, "cost": cost, "timing": timing, "points": points,
                          "headline": tables.headline(summary), "oracle": oracle if oracle is not None else pd.DataFrame()},
                  sentences={"tradeoff": "\n".join(f"- {line}" for line in lines)})
