"""Recipe reports: RESULTS.md and PNG plots (``python -m msrs.bin.report``).

- :mod:`msrs.report.environment`: versions, hardware, git revision.
- :mod:`msrs.report.training_logs`: reporter stats, sparsity/grad-flow logs.
- :mod:`msrs.report.experiments`: scanning ``exp/`` for runs and decodings.
- :mod:`msrs.report.plots`: the PNG plots.
- :mod:`msrs.report.results_md`: :func:`write_report`.
"""
