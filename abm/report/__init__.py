"""Reports of results folders (``abm report``): :mod:`~abm.report.inputs` recognises a run,
comparison or sweep folder, :mod:`~abm.report.builder` assembles and writes the report,
:mod:`~abm.report.figures` and :mod:`~abm.report.tables` make its figures and tables (CSV,
Markdown, LaTeX), :mod:`~abm.report.export` the static images (Kaleido), and
:mod:`~abm.report.style` and :mod:`~abm.report.halvings` (halving marks on date axes) are
shared with :mod:`abm.viz`."""
