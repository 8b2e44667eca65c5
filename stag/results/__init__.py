"""The results layer: from run folders (live or recorded) to the tables and sentences the book shows.

One small library, one module per job:

=====================================  ===================================================
:mod:`stag.train.records`              the one run-record type (:class:`~stag.train.records.RunRecord`)
                                       for any run folder, loaded and checked in one place,
                                       and the run table every table reads
:mod:`stag.results.stats`              seed intervals, paired differences, seed ensembles
                                       (one subject bootstrap for the package:
                                       :func:`stag.train.metrics.subject_resamples`)
:mod:`stag.results.tables`             summary, headline, per dataset, confusions,
                                       comparisons, ablations, leave-one-dataset-out, provenance
:mod:`stag.results.sentences`          the sentences that word those tables
:mod:`stag.results.protocol_runs`      tables only a chapter that trains has (timings,
                                       oracle beside honest, cross-dataset, saved tables)
:mod:`stag.results.synthetic_study`    the recorded synthetic study's own tables
:mod:`stag.results.chapters`           each evaluation chapter's answer as one call, shared
                                       by the chapter and the introduction
:mod:`stag.results.reproduce`          one fold of a record retrained through
                                       :func:`stag.train.run_protocol`, or whole runs replayed
:mod:`stag.results.landmarks`          where the composite's ROI landmarks come from
:mod:`stag.results.cli`                ``stag record``
=====================================  ===================================================

Paths are always passed in: the chapters' parameters default to the repository's
``results/``, and nothing here looks for it next to the installed package.
"""
