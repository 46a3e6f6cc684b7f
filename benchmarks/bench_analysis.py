"""Full Python analysis against ``ast.parse``, pyan3 and code2flow, measured in the same run.

    .venv/bin/python benchmarks/bench_analysis.py [--corpora stdlib,django,rich,requests]
        [--repeat 3] [--timeout 600] [--tools pyan3,code2flow] [--workers N] [--quick]
        [--json out.json] [--profile out.pstats] [--no-e2e]

For every corpus (see ``benchmarks/corpora.py``; wheels and the tools' venv are fetched into
``benchmarks/.cache``), each measurement runs in a fresh subprocess that imports what it needs,
then times only the work:

* ``ast.parse`` baseline: one process reads and parses every file graphlive discovers, one after
  the other, and drops the trees (GC as Python ships it). This is the floor a parser-based
  analysis is compared with: the target is graphlive/ast <= 1.0 on 2 cores.
* graphlive: ``graphlive.analyze(root, publish=False)`` with ``--workers`` (default: every core),
  i.e. discovery, parallel parsing/extraction, resolution and writing the ``CodeGraph``. Phase
  times come from its ``AnalysisSummary``.
* floor: one process reads, parses and visits every node doing nothing (``walk``), then runs
  graphlive's extraction over every file (``extract``). ``extract`` / workers is what the parse
  phase would cost with a perfect split and free transfer; together with graphlive's run minus
  its resolve phase it shows how much of the target is reachable by resolving faster.
* end to end (issue 20), as a user meets it: one process parses every file with ``ast.parse``
  (each tree dropped at once), then runs ``graphlive.analyze(root)`` publishing every event
  to a private ``redis-server`` on a unix socket (as the embedded one is), a new epoch each
  time, cold (a fresh ``GRAPHLIVE_DATA_DIR``: no saved analysis to continue from). The ratio
  of the two, per process, is the target (<= 3.0); ``--no-e2e`` skips it.
* pyan3 (``create_callgraph`` to dot text) and code2flow (``code2flow`` to JSON) through their
  Python APIs, from their own venv, given the files ``ast.parse`` accepts that are UTF-8
  (neither copes with files that do not parse; pyan3 reads every file as UTF-8). A run past
  ``--timeout`` is killed and reported as such; a crash is reported with its last lines.

graphlive runs with ``languages=["python"]``: the baselines parse Python only (Django ships
JavaScript as well, which a default analysis reads too; ``bench_polyglot_live.py`` measures
the other languages).

Baseline and graphlive alternate for ``--repeat`` rounds (the median is reported) so both see
the same background load; the tools run ``--tool-repeat`` times. Peak memory is the child's
``ru_maxrss``; for graphlive the main process (which holds the graph) and the largest parsing
worker are reported separately. Lines are physical lines of the analysed files.

``--profile PATH`` instead runs graphlive once per corpus under cProfile (``--workers 1``
attributes parsing to functions too) and prints the top functions; see
``benchmarks/results/analysis.md`` for py-spy, which samples the parallel run as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from children import emit_result, run_marked

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_CORPORA = ("stdlib", "django", "rich", "requests")
QUICK_CORPORA = ("requests", "rich")
ALL_TOOLS = ("pyan3", "code2flow")
#: What graphlive analyses here: the baselines parse Python only.
PYTHON = ["python"]


# --------------------------------------------------------------------------- child side
# Runs as ``bench_analysis.py --child KIND ROOT LIST``; imports only the stdlib at module level
# because the tools' venv runs it too (without graphlive installed).


def _current_rss_kb() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _child_ast(files: list[str]) -> dict[str, Any]:
    import ast

    failed: list[str] = []
    t0 = time.perf_counter()
    for path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        try:
            ast.parse(data, path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            failed.append(path)
    seconds = time.perf_counter() - t0
    # Not timed: files in another encoding than UTF-8 (with a coding cookie), which pyan3
    # cannot read; the tools get neither these nor the files that do not parse.
    not_utf8 = []
    for path in files:
        try:
            Path(path).read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            not_utf8.append(path)
    return {"seconds": seconds, "failed_files": failed, "not_utf8_files": not_utf8}


def visit_all(tree: Any) -> None:
    """Visit every node of an ``ast`` tree, doing nothing: the least any extractor does."""
    import ast

    stack = [tree]
    pop, push, children = stack.pop, stack.extend, ast.iter_child_nodes
    while stack:
        push(children(pop()))


def _child_floor(root: str) -> dict[str, Any]:
    """What any analysis built on ``ast`` must spend before it resolves anything, in one process.

    ``walk_s``: read, ``ast.parse`` and visit every node of the tree doing nothing (GC as Python
    ships it, like the baseline): no extractor in Python can look at every node for less.
    ``extract_s``: graphlive's own extraction (:func:`extract_chunk`, what the parsing workers
    run, GC paused as they do) of every file. Divided by the cores, it is graphlive's parse phase
    with a perfect split and free transfer."""
    import ast
    import warnings

    from graphlive.analysis.discover import discover
    from graphlive.analysis.engine import Analyzer, file_tasks
    from graphlive.analysis.python_extract import extract_chunk
    from graphlive.graph import CodeGraph

    max_bytes = Analyzer(Path(root), CodeGraph()).max_file_bytes
    tasks = file_tasks(discover(Path(root)))
    warnings.simplefilter("ignore")  # invalid escapes and the like: not ours to print
    t0 = time.perf_counter()
    for task in tasks:
        with open(task.path, "rb") as fh:
            data = fh.read()
        try:
            tree = ast.parse(data, task.path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        visit_all(tree)
    walk_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    facts = extract_chunk(tasks, max_bytes)
    extract_s = time.perf_counter() - t0
    return {"seconds": extract_s, "walk_s": walk_s, "extract_s": extract_s, "files": len(facts)}


def _child_graphlive(root: str, workers: int | None, profile: str | None) -> dict[str, Any]:
    from collections import Counter

    from graphlive.live import analyze

    t0 = time.perf_counter()
    if profile:
        import cProfile

        prof = cProfile.Profile()
        lg = prof.runcall(
            analyze, root, graph="bench", publish=False, workers=workers, languages=PYTHON
        )
        prof.dump_stats(profile)
    else:
        lg = analyze(root, graph="bench", publish=False, workers=workers, languages=PYTHON)
    seconds = time.perf_counter() - t0
    summary = lg.last_summary
    assert summary is not None
    graph = lg.graph
    import graphlive

    return {
        "seconds": seconds,
        "graphlive_file": graphlive.__file__,
        "summary": summary.to_dict(),
        "nodes": graph.node_count,
        "edges": graph.edge_count,
        "nodes_by_kind": dict(Counter(n.kind.value for n in graph.nodes())),
        "edges_by_kind": dict(Counter(e.kind.value for e in graph.edges())),
    }


def _child_e2e(root: str, files: list[str], workers: int | None, redis_url: str) -> dict[str, Any]:
    """As a user meets it, in one process: ``ast.parse`` of every file (each tree dropped at
    once), then ``graphlive.analyze(root)`` publishing every event to Redis (a new epoch)."""
    import ast

    from graphlive.live import analyze

    try:
        from graphlive import forked
    except ImportError:  # a revision before saves were forked (--rev)
        forked = None  # type: ignore[assignment]
    t0 = time.perf_counter()
    for path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        with contextlib.suppress(SyntaxError, ValueError, RecursionError, MemoryError):
            ast.parse(data, path)
    ast_s = time.perf_counter() - t0
    rss_after_ast = _current_rss_kb()
    # Cold: no analysis saved by an earlier run (a fresh data folder for the analysis cache).
    data_dir = tempfile.mkdtemp(prefix="graphlive-bench-")
    os.environ["GRAPHLIVE_DATA_DIR"] = data_dir
    try:
        t0 = time.perf_counter()
        graph = f"bench-e2e-{os.getpid()}"  # a graph of its own: ``events`` counts this run
        lg = analyze(
            root, graph=graph, redis_url=redis_url, reset=True, workers=workers, languages=PYTHON
        )
        seconds = time.perf_counter() - t0
        # The analysis state is saved by a forked child that outlives analyze() (for the next
        # process; graphlive/forked.py): how long it went on, not counted above, and waited for
        # so that it does not overlap the next measurement.
        t0 = time.perf_counter()
        saves = forked.wait_children() if forked is not None else []
        save_after_s = time.perf_counter() - t0
        position = lg.position
        summary = lg.last_summary
        lg.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "seconds": seconds,
        "ast_s": ast_s,
        "ratio": seconds / ast_s if ast_s else None,
        "events": position.seq,
        "rss_after_ast_kb": rss_after_ast,
        "timings": summary.timings if summary is not None else {},
        "save_after_s": save_after_s if saves else None,
    }


def _child_pyan3(root: str, files: list[str]) -> dict[str, Any]:
    import glob

    from pyan import create_callgraph  # type: ignore[import-not-found]

    patterns = [glob.escape(f) for f in files]  # pyan globs its inputs
    t0 = time.perf_counter()
    dot: str = create_callgraph(filenames=patterns, root=root, format="dot")
    seconds = time.perf_counter() - t0
    lines = dot.splitlines()
    edges = sum(1 for ln in lines if " -> " in ln)
    nodes = sum(1 for ln in lines if "[label=" in ln and " -> " not in ln)
    return {"seconds": seconds, "nodes": nodes, "edges": edges}


def _child_code2flow(files: list[str], out_dir: str) -> dict[str, Any]:
    import logging

    from code2flow.engine import code2flow  # type: ignore[import-not-found]

    out = os.path.join(out_dir, f"code2flow-{os.getpid()}.json")
    t0 = time.perf_counter()
    code2flow(files, out, language="py", skip_parse_errors=True, level=logging.WARNING)
    seconds = time.perf_counter() - t0
    with open(out, encoding="utf-8") as fh:
        graph = json.load(fh)["graph"]
    os.unlink(out)
    return {"seconds": seconds, "nodes": len(graph["nodes"]), "edges": len(graph["edges"])}


def child_main(kind: str, root: str, list_file: str, options: dict[str, Any]) -> int:
    files = Path(list_file).read_text(encoding="utf-8").splitlines()
    if kind in ("graphlive", "floor", "e2e"):
        import graphlive.analysis.engine
        import graphlive.live  # noqa: F401
    rss_before = _current_rss_kb()
    if kind == "ast":
        result = _child_ast(files)
    elif kind == "graphlive":
        result = _child_graphlive(root, options.get("workers"), options.get("profile"))
    elif kind == "e2e":
        result = _child_e2e(root, files, options.get("workers"), options["redis_url"])
    elif kind == "floor":
        result = _child_floor(root)
    elif kind == "pyan3":
        result = _child_pyan3(root, files)
    elif kind == "code2flow":
        result = _child_code2flow(files, options["tmp"])
    else:
        raise SystemExit(f"unknown child kind {kind!r}")
    result["rss_before_kb"] = rss_before
    result["peak_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["children_peak_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    emit_result(result)
    return 0


# --------------------------------------------------------------------------- parent side


def run_child(
    python: Path,
    kind: str,
    root: Path,
    list_file: Path,
    options: dict[str, Any],
    timeout: float,
    pythonpath: Path | None = None,
) -> dict[str, Any]:
    """One measurement in a fresh process (its own session, killed whole on timeout).

    ``pythonpath`` puts a graphlive source tree (see :func:`graphlive_at`) before the installed
    one."""
    cmd = [
        str(python),
        str(Path(__file__).resolve()),
        "--child",
        kind,
        str(root),
        str(list_file),
        json.dumps(options),
    ]
    env = dict(os.environ, PYTHONHASHSEED="0")
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    return run_marked(cmd, env, REPO, timeout)


def _git(*args: str) -> str:
    proc = subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO, check=True)
    return proc.stdout.strip()


def graphlive_at(rev: str, cache: Path) -> tuple[Path, str]:
    """``src/`` of graphlive as committed at ``rev`` (exported once into the cache) and the
    commit id: benchmarks of a commit must not pick up half-edited files of the work tree."""
    sha = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    dest = cache / "src" / sha[:12]
    if not (dest / ".complete").exists():
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", sha, "src/graphlive"],
            capture_output=True,
            cwd=REPO,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        (tmp / ".complete").write_text(sha + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    return dest / "src", sha


def corpus_files(root: Path) -> list[str]:
    """The files graphlive analyses under ``root`` (its discovery), absolute paths."""
    from graphlive.analysis.discover import discover

    return [sf.path for sf in discover(root).files]


def count_lines(files: list[str]) -> tuple[int, int]:
    """(physical lines, bytes) of ``files``; reading them also warms the page cache."""
    lines = size = 0
    for path in files:
        data = Path(path).read_bytes()
        size += len(data)
        lines += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return lines, size


def _median(runs: list[dict[str, Any]], key: str = "seconds") -> float | None:
    values = [r[key] for r in runs if r.get("status") == "ok"]
    return statistics.median(values) if values else None


def _first_error(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((r for r in runs if r.get("status") != "ok"), None)


def bench_corpus(name: str, args: argparse.Namespace, tools_py: Path | None) -> dict[str, Any]:
    import corpora

    cache: Path = args.cache
    try:
        corpus = corpora.get(name, cache)
    except corpora.CorpusUnavailable as exc:
        return {"name": name, "status": "unavailable", "error": str(exc)}
    lists = cache / "lists"
    lists.mkdir(parents=True, exist_ok=True)
    files = corpus_files(corpus.root)
    list_file = lists / f"{name}.txt"
    list_file.write_text("\n".join(files) + "\n", encoding="utf-8")
    lines, size = count_lines(files)
    me = Path(sys.executable)
    print(f"[{name}] {len(files)} files, {lines:,} lines: {corpus.origin}", file=sys.stderr)

    gl_opts: dict[str, Any] = {"workers": args.workers}
    e2e_opts: dict[str, Any] = {"workers": args.workers, "redis_url": args.redis_url}
    runs: dict[str, list[dict[str, Any]]] = {"ast": [], "graphlive": [], "floor": [], "e2e": []}
    ast_runs, gl_runs, floor_runs = runs["ast"], runs["graphlive"], runs["floor"]
    kinds = (
        ("ast", "graphlive", "floor", "e2e") if args.redis_url else ("ast", "graphlive", "floor")
    )
    for rnd in range(args.repeat):
        order = kinds if rnd % 2 == 0 else kinds[::-1]
        for kind in order:
            opts = gl_opts if kind == "graphlive" else e2e_opts if kind == "e2e" else {}
            path = args.graphlive_src if kind != "ast" else None
            res = run_child(me, kind, corpus.root, list_file, opts, args.timeout, path)
            runs[kind].append(res)
            shown = f"{res['seconds']:.2f} s" if res["status"] == "ok" else res["status"]
            print(f"[{name}] round {rnd + 1} {kind}: {shown}", file=sys.stderr)

    entry: dict[str, Any] = {
        "name": name,
        "status": "ok",
        "version": corpus.version,
        "origin": corpus.origin,
        "root": str(corpus.root),
        "files": len(files),
        "lines": lines,
        "bytes": size,
    }
    ast_ok = [r for r in ast_runs if r["status"] == "ok"]
    failed = sorted(set(ast_ok[0]["failed_files"])) if ast_ok else []
    not_utf8 = sorted(set(ast_ok[0]["not_utf8_files"]) - set(failed)) if ast_ok else []
    entry["ast"] = {
        "median_s": _median(ast_runs),
        "runs_s": [r.get("seconds") for r in ast_runs],
        "peak_kb": max((r["peak_kb"] for r in ast_ok), default=None),
        "files_not_parsed": len(failed),
        "files_not_utf8": len(not_utf8),
        "error": _first_error(ast_runs),
    }
    gl_ok = [r for r in gl_runs if r["status"] == "ok"]
    gl: dict[str, Any] = {
        "workers": args.workers or len(os.sched_getaffinity(0)),
        "median_s": _median(gl_runs),
        "runs_s": [r.get("seconds") for r in gl_runs],
        "error": _first_error(gl_runs),
    }
    if gl_ok:
        last = gl_ok[-1]
        s = last["summary"]
        gl.update(
            imported_from=last["graphlive_file"],
            nodes=last["nodes"],
            edges=last["edges"],
            nodes_by_kind=last["nodes_by_kind"],
            edges_by_kind=last["edges_by_kind"],
            calls_total=s["calls_total"],
            calls_resolved=s["calls_resolved"],
            calls_unresolved=s["calls_unresolved"],
            unresolved_ratio=s["calls_unresolved"] / s["calls_total"] if s["calls_total"] else 0.0,
            diagnostics=s["diagnostics"],
            files_analysed=s["files"],
            files_failed=s["files_failed"],
            phases_s={
                phase: statistics.median(r["summary"]["timings"].get(phase, 0.0) for r in gl_ok)
                for phase in s["timings"]
            },
            peak_kb=max(r["peak_kb"] for r in gl_ok),
            rss_before_kb=min(r["rss_before_kb"] for r in gl_ok),
            worker_peak_kb=max(r["children_peak_kb"] for r in gl_ok),
        )
    entry["graphlive"] = gl
    ast_s = entry["ast"]["median_s"]
    if ast_s and gl["median_s"]:
        entry["ratio_vs_ast"] = gl["median_s"] / ast_s
    entry["floor"] = floor_entry(floor_runs, ast_s, gl)
    e2e_ok = [r for r in runs["e2e"] if r["status"] == "ok"]
    entry["e2e"] = {
        "median_s": _median(runs["e2e"]),
        "ast_median_s": _median(runs["e2e"], "ast_s"),
        "ratio": statistics.median(r["ratio"] for r in e2e_ok) if e2e_ok else None,
        "ratios": [r.get("ratio") for r in runs["e2e"]],
        "events": e2e_ok[-1]["events"] if e2e_ok else None,
        "save_after_s": _median([r for r in e2e_ok if r.get("save_after_s")], "save_after_s"),
        "peak_kb": max((r["peak_kb"] for r in e2e_ok), default=None),
        "error": _first_error(runs["e2e"]),
    }

    tools: dict[str, Any] = {}
    if tools_py is not None and args.tools:
        excluded = set(failed) | set(not_utf8)
        parsed = [f for f in files if f not in excluded]
        tool_list = lists / f"{name}.parsed.txt"
        tool_list.write_text("\n".join(parsed) + "\n", encoding="utf-8")
        tmp = cache / "tmp"
        tmp.mkdir(exist_ok=True)
        for tool in args.tools:
            runs: list[dict[str, Any]] = []
            for _ in range(args.tool_repeat):
                res = run_child(
                    tools_py, tool, corpus.root, tool_list, {"tmp": str(tmp)}, args.timeout
                )
                runs.append(res)
                shown = f"{res['seconds']:.2f} s" if res["status"] == "ok" else res["status"]
                print(f"[{name}] {tool}: {shown}", file=sys.stderr)
                if res["status"] != "ok":
                    break  # a timeout or crash repeats: do not spend the time again
            ok = [r for r in runs if r["status"] == "ok"]
            info: dict[str, Any] = {
                "status": "ok" if ok else runs[-1]["status"],
                "median_s": _median(runs),
                "runs_s": [r.get("seconds") for r in runs],
                "files": len(parsed),
            }
            if ok:
                info.update(
                    nodes=ok[-1]["nodes"],
                    edges=ok[-1]["edges"],
                    peak_kb=max(r["peak_kb"] for r in ok),
                )
            else:
                info["error"] = runs[-1].get("error", f"no result within {args.timeout:.0f} s")
            if ok and gl["median_s"]:
                info["ratio_vs_graphlive"] = info["median_s"] / gl["median_s"]
            tools[tool] = info
    entry["tools"] = tools
    return entry


def floor_entry(
    floor_runs: list[dict[str, Any]], ast_s: float | None, gl: dict[str, Any]
) -> dict[str, Any]:
    """The floor measurements (see :func:`_child_floor`) as ratios to the ``ast.parse`` median.

    ``parse_floor``: graphlive's extraction split perfectly over graphlive's workers, with free
    transfer; ``without_resolve``: graphlive's own run minus its resolve phase. Either one above
    1.0 means the target cannot be met by making resolution cheaper alone."""
    ok = [r for r in floor_runs if r["status"] == "ok"]
    out: dict[str, Any] = {"error": _first_error(floor_runs)}
    if not ok or not ast_s:
        return out
    walk = statistics.median(r["walk_s"] for r in ok)
    extract = statistics.median(r["extract_s"] for r in ok)
    out.update(walk_s=walk, extract_s=extract, walk_ratio=walk / ast_s)
    out.update(extract_ratio=extract / ast_s, parse_floor=extract / gl["workers"] / ast_s)
    phases = gl.get("phases_s")
    if phases and gl["median_s"]:
        out["without_resolve"] = (gl["median_s"] - phases.get("resolve", 0.0)) / ast_s
    return out


def profile_corpus(name: str, args: argparse.Namespace) -> None:
    import pstats

    import corpora

    corpus = corpora.get(name, args.cache)
    lists = args.cache / "lists"
    lists.mkdir(parents=True, exist_ok=True)
    list_file = lists / f"{name}.txt"
    list_file.write_text("\n".join(corpus_files(corpus.root)) + "\n", encoding="utf-8")
    out = Path(args.profile)
    path = out.with_name(f"{out.stem}-{name}{out.suffix or '.pstats'}")
    opts = {"workers": args.workers, "profile": str(path.resolve())}
    res = run_child(
        Path(sys.executable),
        "graphlive",
        corpus.root,
        list_file,
        opts,
        args.timeout,
        args.graphlive_src,
    )
    if res["status"] != "ok":
        print(f"[{name}] profile run: {res['status']} {res.get('error', '')}")
        return
    print(f"== {name}: {res['seconds']:.2f} s under cProfile, phases {res['summary']['timings']}")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(30)
    print(f"stats written to {path}")


def _fmt_s(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def _mb(kb: int | None) -> float | None:
    return kb / 1024 if kb is not None else None


def print_tables(results: dict[str, Any]) -> None:
    rows = [c for c in results["corpora"] if c["status"] == "ok"]
    for c in results["corpora"]:
        if c["status"] != "ok":
            print(f"{c['name']}: {c['status']} ({c.get('error')})")
    m = results["machine"]
    if rows:
        workers = rows[0]["graphlive"]["workers"]
        print(
            f"\nPython {m['python']}, {m['cpus']} CPUs, load {m['load_avg_at_start'][0]:.1f} at "
            f"start; graphlive workers={workers}, {m['graphlive_source']}"
        )
    print("\nTime, seconds (median); ratio = graphlive / ast.parse; tool ratio = tool / graphlive")
    head = f"{'corpus':<12}{'files':>7}{'lines':>10}{'ast.parse':>11}{'graphlive':>11}{'ratio':>7}"
    for tool in results["args"]["tools"]:
        head += f"{tool:>14}{'x':>7}"
    print(head)
    for c in rows:
        gl = c["graphlive"]
        line = (
            f"{c['name']:<12}{c['files']:>7}{c['lines']:>10,}{_fmt_s(c['ast']['median_s']):>11}"
            f"{_fmt_s(gl['median_s']):>11}{c.get('ratio_vs_ast', float('nan')):>7.2f}"
        )
        for tool in results["args"]["tools"]:
            t = c["tools"].get(tool)
            if t is None:
                line += f"{'-':>14}{'':>7}"
            elif t["status"] == "ok":
                line += f"{_fmt_s(t['median_s']):>14}{t.get('ratio_vs_graphlive', 0):>7.1f}"
            else:
                line += f"{t['status']:>14}{'':>7}"
        print(line)

    e2e_rows = [c for c in rows if c.get("e2e", {}).get("ratio")]
    if e2e_rows:
        print(
            "\nEnd to end, as a user meets it (one process: ast.parse of every file, then"
            "\ngraphlive.analyze(root) publishing every event to Redis); ratio = median of the"
            "\nper-process ratios; peak MB per 100k lines of that process; bg save = how long"
            "\nthe forked child saving the analysis for the next process ran on after analyze()"
        )
        print(
            f"{'corpus':<12}{'ast.parse':>11}{'analyze':>10}{'ratio':>8}{'events':>10}{'/100k':>8}"
            f"{'bg save':>9}"
        )
        for c in e2e_rows:
            e = c["e2e"]
            per_100k = (_mb(e["peak_kb"]) or 0.0) / c["lines"] * 1e5
            print(
                f"{c['name']:<12}{_fmt_s(e['ast_median_s']):>11}{_fmt_s(e['median_s']):>10}"
                f"{e['ratio']:>8.2f}{e['events'] or 0:>10,}{per_100k:>8.0f}"
                f"{_fmt_s(e.get('save_after_s')):>9}"
            )
    for c in rows:
        err = c.get("e2e", {}).get("error")
        if err:
            print(f"{c['name']}: end-to-end run failed: {err}")

    print("\ngraphlive phases, seconds (median)")
    print(f"{'corpus':<12}{'discover':>10}{'parse':>10}{'resolve':>10}{'write':>10}")
    for c in rows:
        ph = c["graphlive"].get("phases_s", {})
        print(
            f"{c['name']:<12}"
            + "".join(f"{ph.get(k, 0.0):>10.2f}" for k in ("discover", "parse", "resolve", "write"))
        )

    print(
        "\nFloor, as ratios to ast.parse (one process each): walk = parse and visit every node"
        "\ndoing nothing; extract = graphlive's extraction; parse floor = extract split perfectly"
        "\nover the workers, transfer free; without resolve = graphlive minus its resolve phase"
    )
    print(f"{'corpus':<12}{'walk':>8}{'extract':>9}{'parse floor':>13}{'without resolve':>17}")
    for c in rows:
        fl = c.get("floor", {})
        if "walk_ratio" not in fl:
            print(f"{c['name']:<12} floor not measured: {fl.get('error')}")
            continue
        print(
            f"{c['name']:<12}{fl['walk_ratio']:>8.2f}{fl['extract_ratio']:>9.2f}"
            f"{fl['parse_floor']:>13.2f}{fl.get('without_resolve', float('nan')):>17.2f}"
        )

    print(
        "\nGraph and memory: peak RSS in MB; /100k = graphlive main-process peak per 100k lines,"
        "\ngrow/100k = the same minus the RSS after imports; worker = largest parsing worker"
    )
    print(
        f"{'corpus':<12}{'nodes':>9}{'edges':>9}{'calls':>9}{'unresolved':>11}{'diags':>7}"
        f"{'gl peak':>9}{'/100k':>8}{'grow/100k':>10}{'worker':>8}{'ast':>7}"
        + "".join(f"{t:>11}" for t in results["args"]["tools"])
    )
    for c in rows:
        gl = c["graphlive"]
        if "nodes" not in gl:
            print(f"{c['name']:<12} graphlive failed: {gl.get('error')}")
            continue
        peak = _mb(gl["peak_kb"]) or 0.0
        growth = (_mb(gl["peak_kb"] - gl["rss_before_kb"]) or 0.0) / c["lines"] * 1e5
        line = (
            f"{c['name']:<12}{gl['nodes']:>9,}{gl['edges']:>9,}{gl['calls_total']:>9,}"
            f"{gl['unresolved_ratio']:>11.1%}{gl['diagnostics']:>7}{peak:>9.0f}"
            f"{peak / c['lines'] * 1e5:>8.0f}{growth:>10.0f}{_mb(gl['worker_peak_kb']) or 0:>8.0f}"
            f"{_mb(c['ast']['peak_kb']) or 0:>7.0f}"
        )
        for tool in results["args"]["tools"]:
            t = c["tools"].get(tool, {})
            line += f"{_mb(t['peak_kb']):>11.0f}" if "peak_kb" in t else f"{'-':>11}"
        print(line)
    if any(c["tools"] for c in rows):
        print("\nTools' own graphs (nodes/edges as they output them; not comparable one to one)")
        for c in rows:
            for tool, t in c["tools"].items():
                if t["status"] == "ok":
                    counts = f"{t['nodes']:>8,} nodes {t['edges']:>9,} edges"
                    print(f"  {c['name']:<12} {tool:<10} {counts}")
                else:
                    print(f"  {c['name']:<12} {tool:<10} {t['status']}: {t.get('error', '')}")


def machine_info(args: argparse.Namespace) -> dict[str, Any]:
    if args.graphlive_sha:
        source = f"commit {args.graphlive_sha[:12]} (--rev {args.rev})"
    elif args.graphlive_path is not None:
        source = f"{args.graphlive_path} (--graphlive-path)"
    else:
        dirty = _git("status", "--porcelain", "--", "src/graphlive")
        source = f"work tree at {_git('rev-parse', '--short', 'HEAD')}" + (
            " with uncommitted changes" if dirty else ""
        )
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": len(os.sched_getaffinity(0)),
        "load_avg_at_start": os.getloadavg(),
        "graphlive_source": source,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        kind, root, list_file, options = argv[1:5]
        return child_main(kind, root, list_file, json.loads(options))

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--corpora",
        default=",".join(DEFAULT_CORPORA),
        help="comma-separated: stdlib, stdlib-pkgs, django, rich, requests",
    )
    ap.add_argument("--repeat", type=int, default=3, help="rounds of ast.parse vs graphlive")
    ap.add_argument("--tool-repeat", type=int, default=1, help="runs of pyan3 and code2flow")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per child process")
    ap.add_argument(
        "--tools",
        default=",".join(ALL_TOOLS),
        help="comma-separated comparison tools; '' for none",
    )
    ap.add_argument("--workers", type=int, default=None, help="graphlive workers (default: all)")
    ap.add_argument("--quick", action="store_true", help="requests+rich, 1 round, 120 s timeout")
    ap.add_argument("--json", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--profile", type=str, default=None, help="cProfile graphlive, stats path")
    ap.add_argument(
        "--rev",
        default=None,
        help="benchmark graphlive as committed at this git revision (default: the work tree)",
    )
    ap.add_argument(
        "--graphlive-path",
        type=Path,
        default=None,
        help="benchmark the graphlive found in this folder instead (e.g. a wheel unpacked with"
        " 'python -m zipfile -e', such as a GRAPHLIVE_MYPYC=1 build)",
    )
    ap.add_argument(
        "--no-e2e",
        action="store_true",
        help="skip the end-to-end run (analyze with publishing, against ast.parse in-process)",
    )
    ap.add_argument("--cache", type=Path, default=HERE / ".cache", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.graphlive_src, args.graphlive_sha = (
        graphlive_at(args.rev, args.cache) if args.rev else (None, None)
    )
    if args.graphlive_path is not None:
        if args.rev:
            ap.error("--rev and --graphlive-path exclude each other")
        args.graphlive_src = args.graphlive_path.resolve()
    if args.quick:
        if args.corpora == ",".join(DEFAULT_CORPORA):
            args.corpora = ",".join(QUICK_CORPORA)
        args.repeat, args.timeout = 1, min(args.timeout, 120.0)
    names = [n for n in args.corpora.split(",") if n]
    args.tools = [t for t in args.tools.split(",") if t]
    unknown = [t for t in args.tools if t not in ALL_TOOLS]
    if unknown:
        ap.error(f"unknown tools: {unknown}")
    sys.path.insert(0, str(HERE))

    if args.profile:
        for name in names:
            profile_corpus(name, args)
        return 0

    import corpora

    tools_py: Path | None = None
    tools_error = None
    if args.tools:
        try:
            tools_py = corpora.tools_python(args.cache)
        except (corpora.CorpusUnavailable, subprocess.CalledProcessError) as exc:
            tools_error = str(exc)
            print(f"comparison tools unavailable: {exc}", file=sys.stderr)
    results: dict[str, Any] = {
        "machine": machine_info(args),
        "args": {
            "corpora": names,
            "repeat": args.repeat,
            "tool_repeat": args.tool_repeat,
            "timeout_s": args.timeout,
            "tools": args.tools if tools_py else [],
            "tools_versions": corpora.TOOLS,
            "tools_error": tools_error,
            "workers": args.workers,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
        },
        "corpora": [],
    }
    with contextlib.ExitStack() as stack:
        args.redis_url = None
        if not args.no_e2e:
            # A private redis-server on a unix socket, as the embedded one is.
            sys.path.insert(0, str(REPO))
            from tests.redis_servers import running_redis

            args.redis_url = stack.enter_context(running_redis())
        results["corpora"] = [bench_corpus(name, args, tools_py) for name in names]
    print_tables(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
