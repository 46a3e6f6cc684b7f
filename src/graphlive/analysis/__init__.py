"""Code analysis: source trees → :class:`~graphlive.graph.CodeGraph` content.

Python analysis is split so that each step can be reused by incremental re-analysis:

* :mod:`~graphlive.analysis.discover` — which files, and their module ids;
* :mod:`~graphlive.analysis.source` — reading and decoding one file;
* :mod:`~graphlive.analysis.python_extract` — one file → compact per-file facts (``ast``);
* :mod:`~graphlive.analysis.resolve` — all facts → call/import/inheritance/decorator links;
* :mod:`~graphlive.analysis.build` — facts + links → nodes and edges owned by each file;
* :mod:`~graphlive.analysis.engine` — :class:`Analyzer`, which runs the steps (parsing in
  parallel) and writes the result into a graph, one transaction per file.
"""

from graphlive.analysis.engine import AnalysisSummary, Analyzer, Progress

__all__ = ["AnalysisSummary", "Analyzer", "Progress"]
