"""Cold against warm analysis in a new process: what continuing a stored graph costs.

    .venv/bin/python benchmarks/bench_warm.py [--corpus requests,rich,django,stdlib] [--runs 1]
        [--workers N] [--timeout 900] [--json benchmarks/results/warm.json] [--verify]
        [--rev HEAD] [--embedded]

For every corpus (``benchmarks/corpora.py``) the tree is copied into a temporary folder (the
edit below must not touch the cache; modification times are kept), and every run uses a fresh
``GRAPHLIVE_DATA_DIR`` (the analysis cache) and a private ``redis-server`` (the bundled binary,
``tests/redis_servers.py``); with ``--embedded``, the analyses get no URL and find the embedded
Redis of the run's own Jupyter folders instead, as on the default set-up (finding it, and
importing what does, is then part of the call). Each step is a new Python process that imports
what it needs, then times only its work (``time.perf_counter`` around the call). Importing is
start-up, outside the clock on both sides: the baseline's child imports graphlive's discovery,
and with it the whole analysis package; the analysis children import ``graphlive`` and its
analysis package (what ``analyze`` would otherwise import on first use, from bytecode caches:
``PYTHONDONTWRITEBYTECODE`` is removed from the children's environment). Each child reports its
import time (``import_s``, printed below the tables), and the parent measures the whole
process' wall time as well (start to exit: interpreter, imports, worker pool, exit):

1. ``ast.parse`` baseline: read and parse every file graphlive's discovery lists
   (``discover(root, IgnoreRules(root))``), dropping each tree at once.
2. cold: ``graphlive.analyze(copy, graph=G, redis_url=URL, reset=True)`` with an empty cache
   (every call here with ``languages=["python"]``, the baseline's language).
3. warm, unchanged tree: ``graphlive.analyze(copy, graph=G, redis_url=URL)``. Expected: nothing
   parsed (``lg.resumed == "unchanged"``), no mutation event, the same epoch.
4. warm, one file changed: ``x = 1`` appended to the body of the last top-level function of a
   mid-sized module (the file nearest the median size that has such a function, chosen the same
   way every run), then the same call. Expected: ``lg.resumed == "continued"``, one file parsed,
   a few mutation events, the same epoch. The file is put back (content and times) after the run.

Mutations are counted in the graph's stream from the position before the call to its end
(``graph_reset`` and ``node_*``/``edge_*`` events); "epoch kept" compares the graph's epoch in
Redis before and after. ``--verify`` also compares the graph Redis holds after step 4 with a
fresh ``publish=False`` analysis of the edited copy (one more full analysis per run).

Targets (issue): warm unchanged <= 0.25x ``ast.parse``, one file changed <= 0.3x, on the time of
the ``analyze()`` call. ``--runs N`` repeats the four steps (new cache, new Redis, same copy) and
reports medians; the targets are judged on the ratio of the medians. Beside it, the median of
each run's own ratio (its call against its own baseline, seconds apart) is printed, less
sensitive to a machine that is slow for a while. Progress goes to stderr; the table to stdout;
all runs to ``--json``.
``--rev REV`` runs graphlive as committed at REV (exported once into ``benchmarks/.cache/src``)
instead of the work tree's, which others may be editing.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from children import emit_result, run_marked

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_CORPORA = ("requests", "rich", "django", "stdlib")
TARGET_UNCHANGED = 0.25
TARGET_ONE_FILE = 0.3
#: Copying the stdlib: what discovery skips anyway, and bytecode.
COPY_IGNORE = ("__pycache__", "site-packages", "dist-packages", "*.pyc")
EDIT = "x = 1"
#: What graphlive analyses here: the baseline parses Python only (Django ships JavaScript too).
PYTHON = ["python"]


# --------------------------------------------------------------------------- child side


def _child_ast(root: str) -> dict[str, Any]:
    started = time.perf_counter()
    from graphlive.analysis.discover import discover
    from graphlive.ignore import IgnoreRules

    imported = time.perf_counter() - started

    files = [sf.path for sf in discover(Path(root), IgnoreRules(Path(root))).files]
    failed = 0
    t0 = time.perf_counter()
    for path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        try:
            ast.parse(data, path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            failed += 1
    return {
        "seconds": time.perf_counter() - t0,
        "files": len(files),
        "failed": failed,
        "import_s": imported,
    }


def _child_analyze(
    root: str, graph: str, url: str, reset: bool, workers: int | None, embedded: bool = False
) -> dict:
    started = time.perf_counter()
    import redis

    import graphlive
    import graphlive.analysis.engine  # start-up, as the baseline's (docstring)
    from graphlive.bus.keys import GraphKeys
    from graphlive.events import decode
    from graphlive.resume import read_record

    imported = time.perf_counter() - started

    client = redis.Redis.from_url(url)
    before = read_record(client, graph)
    options: dict[str, Any] = {"workers": workers} if workers else {}
    options["languages"] = PYTHON
    t0 = time.perf_counter()
    # --embedded: no URL, as on the default set-up (the call finds the embedded server; ``url``
    # is its address, for the reads around the call only).
    target = None if embedded else url
    lg = graphlive.analyze(root, graph=graph, redis_url=target, reset=reset, **options)
    seconds = time.perf_counter() - t0
    after = read_record(client, graph)
    # The events this call added: the seq goes on across epochs (a reset keeps counting). Not
    # read after a reset (the whole graph, partly trimmed already).
    entries: Any = (
        [] if reset else client.xrange(GraphKeys(graph).events, f"{before.seq + 1}-0", "+")
    )
    by_type: dict[str, int] = {}
    epochs: set[str] = set()
    for _, fields in entries:
        event = decode(fields[b"e"])
        epochs.add(event.epoch)
        if event.type.is_mutation:
            by_type[event.type.value] = by_type.get(event.type.value, 0) + 1
    summary = lg.last_summary
    assert summary is not None
    lg.close()
    client.close()
    return {
        "seconds": seconds,
        "resumed": lg.resumed,
        "epoch_note": lg.epoch_note,
        "files": summary.files,
        "files_parsed": summary.files_parsed,
        "files_solved": summary.files_solved,
        "files_written": summary.files_written,
        "fallback": summary.fallback,
        "saturated": summary.saturated,
        "summary_seconds": summary.seconds,
        "timings": summary.timings,
        "nodes": summary.nodes,
        "edges": summary.edges,
        "events": len(entries),
        "expected_events": after.seq - before.seq,
        "mutations": sum(by_type.values()),
        "mutations_by_type": by_type,
        "epoch_before": before.epoch,
        "epoch_after": after.epoch,
        "epoch_kept": bool(before.epoch) and before.epoch == after.epoch,
        "event_epochs": sorted(epochs),
        "position": [lg.position.epoch, lg.position.seq],
        "graphlive_file": graphlive.__file__,
        "import_s": imported,
    }


def _child_verify(root: str, graph: str, url: str) -> dict[str, Any]:
    """Whether the graph in Redis equals a fresh analysis of the tree (nodes and edges)."""
    import graphlive
    from graphlive.live import LiveGraph

    stored = LiveGraph.load(graph, redis_url=url).graph
    fresh = graphlive.analyze(root, graph=graph, publish=False, languages=PYTHON).graph

    def content(g: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return (
            {n.id: n.to_dict() for n in g.nodes()},
            {e.id: e.to_dict() for e in g.edges()},
        )

    (sn, se), (fn, fe) = content(stored), content(fresh)
    diff_nodes = sorted(k for k in sn.keys() | fn.keys() if sn.get(k) != fn.get(k))
    diff_edges = sorted(k for k in se.keys() | fe.keys() if se.get(k) != fe.get(k))
    return {
        "seconds": 0.0,
        "equal": not diff_nodes and not diff_edges,
        "nodes": [len(sn), len(fn)],
        "edges": [len(se), len(fe)],
        "diff_nodes": diff_nodes[:10],
        "diff_edges": diff_edges[:10],
    }


def child_main(kind: str, options: dict[str, Any]) -> int:
    if kind == "ast":
        result = _child_ast(options["root"])
    elif kind == "analyze":
        result = _child_analyze(
            options["root"],
            options["graph"],
            options["url"],
            options["reset"],
            options["workers"],
            options.get("embedded", False),
        )
    elif kind == "embedded":
        from graphlive.bus import embedded

        if options["action"] == "start":
            result = {"url": embedded.ensure_running().url}
        else:
            result = {"stopped": embedded.stop()}
    elif kind == "verify":
        result = _child_verify(options["root"], options["graph"], options["url"])
    else:
        raise SystemExit(f"unknown child kind {kind!r}")
    emit_result(result)
    return 0


# --------------------------------------------------------------------------- parent side


def run_child(kind: str, options: dict[str, Any], env: dict[str, str], timeout: float) -> dict:
    """One step in a new process (its own session, killed whole on timeout); adds ``status``
    and ``process_s``, the process' wall time from start to exit."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, json.dumps(options)]
    return run_marked(cmd, env, REPO, timeout, tail_lines=5, tail_chars=600, keep_stderr=True)


def copy_corpus(src: Path, dest: Path) -> None:
    """Copy the tree (times kept, as a checkout keeps them) without what discovery skips."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(*COPY_IGNORE), symlinks=True)


def discovered(root: Path) -> list[Any]:
    from graphlive.analysis.discover import discover
    from graphlive.ignore import IgnoreRules

    return list(discover(root, IgnoreRules(root)).files)


def choose_edit(files: list[Any]) -> tuple[str, int, str] | None:
    """Where to put ``x = 1``: the module nearest the median size (by size, then path) with a
    top-level function whose body starts on its own line; after the last statement of the last
    such function, at its body's indentation. Returns ``(path, line index, text)``."""
    ordered = sorted(files, key=lambda sf: (sf.size, sf.rel))
    mid = len(ordered) // 2
    # Walk outward from the median: mid, mid+1, mid-1, mid+2, ...
    for step in range(len(ordered)):
        i = mid + (step + 1) // 2 if step % 2 else mid - step // 2
        if not 0 <= i < len(ordered):
            continue
        sf = ordered[i]
        try:
            source = Path(sf.path).read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (SyntaxError, ValueError, UnicodeDecodeError):
            continue
        funcs = [
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body[0].lineno > node.lineno
            and node.end_lineno is not None
        ]
        if not funcs:
            continue
        func = funcs[-1]
        lines = source.splitlines(keepends=True)
        first = lines[func.body[0].lineno - 1]
        indent = first[: len(first) - len(first.lstrip())]
        assert func.end_lineno is not None
        return sf.path, func.end_lineno, f"{indent}{EDIT}  # bench_warm edit of {func.name}\n"
    return None


def apply_edit(path: str, index: int, text: str) -> None:
    lines = Path(path).read_text(encoding="utf-8").splitlines(keepends=True)
    if index > 0 and not lines[index - 1].endswith("\n"):
        lines[index - 1] += "\n"
    lines.insert(index, text)
    edited = "".join(lines)
    ast.parse(edited)  # still valid Python
    Path(path).write_text(edited, encoding="utf-8")


def bench_run(
    name: str, copy: Path, work: Path, run: int, edit: tuple[str, int, str], args: Any
) -> dict[str, Any]:
    from tests.redis_servers import running_redis

    data = work / f"data-{run}"
    env = dict(os.environ, GRAPHLIVE_DATA_DIR=str(data))
    # Bytecode caching on, as an installed package has it: the call imports the analysis
    # lazily, and compiling ~70 modules from source would add 0.1-0.15 s to every warm call.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.graphlive_src is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(args.graphlive_src), env.get("PYTHONPATH")])
        )
    graph = f"warm-{name}"
    path, index, text = edit
    st = os.stat(path)
    original = Path(path).read_bytes()
    out: dict[str, Any] = {}

    def step(label: str, kind: str, **options: Any) -> dict[str, Any]:
        res = run_child(kind, options, env, args.timeout)
        out[label] = res
        if res["status"] != "ok":
            shown = f"{res['status']}: {res.get('error', '')}"
        elif kind == "analyze" and options["reset"]:
            shown = (
                f"{res['seconds']:.3f} s (process {res['process_s']:.2f} s), {res['resumed']}, "
                f"{res['files_parsed']} parsed, {res['expected_events']} events published"
            )
        elif kind == "analyze":
            shown = (
                f"{res['seconds']:.3f} s (process {res['process_s']:.2f} s), {res['resumed']}, "
                f"{res['files_parsed']} parsed, {res['mutations']} mutations, "
                f"epoch {'kept' if res['epoch_kept'] else 'new'}"
            )
        elif kind == "verify":
            shown = "equal" if res["equal"] else f"DIFFERENT {res}"
        else:
            shown = f"{res['seconds']:.3f} s ({res['files']} files)"
        print(f"[{name}] run {run + 1} {label}: {shown}", file=sys.stderr)
        return res

    common: dict[str, Any] = {"root": str(copy), "graph": graph, "workers": args.workers}
    if args.embedded:
        # The default set-up: no URL; the analyses find (and the first starts) the embedded
        # server of this run's own Jupyter folders.
        env["JUPYTER_RUNTIME_DIR"] = str(work / f"rt-{run}")
        env["JUPYTER_DATA_DIR"] = str(work / f"jd-{run}")
        env.pop("GRAPHLIVE_REDIS_URL", None)
        common["embedded"] = True
    try:
        with contextlib.ExitStack() as stack:
            url = (
                _embedded_server(env, args.timeout, stack)
                if args.embedded
                else stack.enter_context(running_redis())
            )
            step("ast", "ast", root=str(copy))
            cold = step("cold", "analyze", url=url, reset=True, **common)
            if cold["status"] == "ok":
                step("unchanged", "analyze", url=url, reset=False, **common)
                apply_edit(path, index, text)
                step("one_file", "analyze", url=url, reset=False, **common)
                if args.verify:
                    step("verify", "verify", root=str(copy), graph=graph, url=url)
    finally:
        Path(path).write_bytes(original)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        shutil.rmtree(data, ignore_errors=True)
    return out


def _embedded_server(env: dict[str, str], timeout: float, stack: contextlib.ExitStack) -> str:
    """Start the embedded server of ``env``'s Jupyter folders (in a child, with the graphlive
    under test), stopped when ``stack`` closes; its URL."""
    started = run_child("embedded", {"action": "start"}, env, timeout)
    if started["status"] != "ok":
        raise RuntimeError(f"the embedded Redis did not start: {started}")
    stack.callback(run_child, "embedded", {"action": "stop"}, env, timeout)
    return str(started["url"])


def _median(runs: list[dict[str, Any]], label: str, key: str) -> float | None:
    values = [r[label][key] for r in runs if r.get(label, {}).get("status") == "ok"]
    return statistics.median(values) if values else None


def bench_corpus(name: str, args: argparse.Namespace) -> dict[str, Any]:
    import corpora

    try:
        corpus = corpora.get(name, corpora.CACHE)
    except corpora.CorpusUnavailable as exc:
        return {"name": name, "status": "unavailable", "error": str(exc)}
    work = Path(tempfile.mkdtemp(prefix=f"gl-warm-{name}-"))
    try:
        copy = work / corpus.root.name
        t0 = time.perf_counter()
        copy_corpus(corpus.root, copy)
        files = discovered(copy)
        original = len(discovered(corpus.root))
        print(
            f"[{name}] {len(files)} files copied to {copy} in {time.perf_counter() - t0:.1f} s"
            f" ({corpus.origin})",
            file=sys.stderr,
        )
        if len(files) != original:
            print(f"[{name}] WARNING: the original has {original} files", file=sys.stderr)
        edit = choose_edit(files)
        if edit is None:
            return {"name": name, "status": "error", "error": "no module to edit"}
        rel = os.path.relpath(edit[0], copy)
        print(f"[{name}] edit: {rel} line {edit[1] + 1}: {edit[2].strip()}", file=sys.stderr)
        runs = [bench_run(name, copy, work, run, edit, args) for run in range(args.runs)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    entry: dict[str, Any] = {
        "name": name,
        "status": "ok",
        "version": corpus.version,
        "origin": corpus.origin,
        "files": len(files),
        "bytes": sum(sf.size for sf in files),
        "edited": {"file": rel, "line": edit[1] + 1, "size": Path(corpus.root, rel).stat().st_size},
        "runs": runs,
    }
    for label in ("ast", "cold", "unchanged", "one_file"):
        entry[label] = {
            "median_s": _median(runs, label, "seconds"),
            "process_median_s": _median(runs, label, "process_s"),
            "import_median_s": _median(runs, label, "import_s"),
        }
    ast_s = entry["ast"]["median_s"]
    for label in ("cold", "unchanged", "one_file"):
        med = entry[label]["median_s"]
        entry[label]["ratio"] = med / ast_s if med is not None and ast_s else None
        proc = entry[label]["process_median_s"]
        entry[label]["process_ratio"] = proc / ast_s if proc is not None and ast_s else None
        # Each run's call against its own run's baseline (seconds apart, where the medians of
        # the table may come from different moments of a noisy machine): printed beside it.
        pairs = [
            r[label]["seconds"] / r["ast"]["seconds"]
            for r in runs
            if r.get(label, {}).get("status") == "ok"
            and r.get("ast", {}).get("status") == "ok"
            and r["ast"]["seconds"]
        ]
        entry[label]["paired_ratios"] = [round(x, 4) for x in pairs]
        entry[label]["paired_ratio"] = statistics.median(pairs) if pairs else None
        ok = [r[label] for r in runs if r.get(label, {}).get("status") == "ok"]
        if ok:
            entry[label].update(
                resumed=sorted({r["resumed"] for r in ok}),
                files_parsed=sorted({r["files_parsed"] for r in ok}),
                mutations=sorted({r["mutations"] for r in ok}),
                mutations_by_type=ok[-1]["mutations_by_type"],
                epoch_kept=all(r["epoch_kept"] for r in ok),
                timings={
                    k: statistics.median(r["timings"].get(k, 0.0) for r in ok)
                    for k in ok[-1]["timings"]
                },
                # The call's time outside the analyzer's phases (loading and saving the
                # analysis cache, reading Redis, the writer lease, publishing).
                outside_phases_s=statistics.median(
                    r["seconds"] - sum(r["timings"].values()) for r in ok
                ),
            )
        errors = [r[label] for r in runs if r.get(label, {}).get("status", "ok") != "ok"]
        if errors:
            entry[label]["error"] = errors[0]
    verify = [r["verify"] for r in runs if "verify" in r]
    if verify:
        entry["verify"] = verify
    return entry


def anomalies(c: dict[str, Any]) -> list[str]:
    """What differs from the contract (module docstring) in a corpus' runs."""
    out: list[str] = []
    for i, run in enumerate(c["runs"]):
        for label in ("ast", "cold", "unchanged", "one_file", "verify"):
            res = run.get(label)
            if res is None:
                continue
            if res["status"] != "ok":
                out.append(f"run {i + 1} {label}: {res['status']} {res.get('error', '')}")
                continue
            if label == "verify" and not res["equal"]:
                out.append(f"run {i + 1}: graph after the edit differs from a fresh analysis {res}")
            if label not in ("unchanged", "one_file"):
                continue
            if not res["epoch_kept"]:
                out.append(f"run {i + 1} {label}: NEW EPOCH ({res['epoch_note']})")
            if res["events"] != res["expected_events"]:
                out.append(
                    f"run {i + 1} {label}: stream has {res['events']} new entries, "
                    f"seq moved by {res['expected_events']}"
                )
            if label == "unchanged" and (
                res["mutations"] or res["files_parsed"] or res["resumed"] != "unchanged"
            ):
                out.append(
                    f"run {i + 1} unchanged: resumed={res['resumed']} parsed={res['files_parsed']}"
                    f" mutations={res['mutations_by_type']}"
                )
            if label == "one_file" and (
                res["resumed"] != "continued" or res["files_parsed"] != 1 or not res["mutations"]
            ):
                out.append(
                    f"run {i + 1} one file: resumed={res['resumed']} parsed={res['files_parsed']}"
                    f" fallback={res['fallback']} mutations={res['mutations_by_type']}"
                )
    return out


def _s(value: float | None, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if value is not None else "-"


def _x(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def _met(value: float | None, target: float) -> str:
    if value is None:
        return "-"
    return "met" if value <= target else "NOT met"


def _one(values: list[Any] | None) -> str:
    if not values:
        return "-"
    return str(values[0]) if len(values) == 1 else "/".join(str(v) for v in values)


def print_tables(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(
        f"\nPython {m['python']}, {m['cpus']} CPUs, load {m['load_avg_at_start'][0]:.1f} at start,"
        f" {results['args']['runs']} run(s) per corpus (medians), graphlive {m['graphlive']}"
        + (", embedded Redis (no URL)" if results["args"].get("embedded") else "")
    )
    rows = [c for c in results["corpora"] if c["status"] == "ok"]
    for c in results["corpora"]:
        if c["status"] != "ok":
            print(f"{c['name']}: {c['status']} ({c.get('error')})")
    print(
        "\nSeconds of the call in a new process (median); ratio = / ast.parse of the same files."
        f"\nTargets: warm unchanged <= {TARGET_UNCHANGED}x, one file changed <= {TARGET_ONE_FILE}x"
    )
    head = (
        f"{'corpus':<10}{'files':>6}{'ast.parse':>10}{'cold':>15}{'warm unchanged':>17}"
        f"{'one file':>15}{'mut unch':>9}{'mut 1 file':>11}{'epoch kept':>11}"
        f"{'unch target':>12}{'1-file target':>14}"
    )
    print(head)
    for c in rows:
        cold, unch, one = c["cold"], c["unchanged"], c["one_file"]
        kept = unch.get("epoch_kept") and one.get("epoch_kept")
        print(
            f"{c['name']:<10}{c['files']:>6}{_s(c['ast']['median_s']):>10}"
            f"{_s(cold['median_s'], 2) + ' (' + _x(cold['ratio']) + ')':>15}"
            f"{_s(unch['median_s']) + ' (' + _x(unch['ratio']) + ')':>17}"
            f"{_s(one['median_s']) + ' (' + _x(one['ratio']) + ')':>15}"
            f"{_one(unch.get('mutations')):>9}{_one(one.get('mutations')):>11}"
            f"{('yes' if kept else 'NO'):>11}"
            f"{_met(unch['ratio'], TARGET_UNCHANGED):>12}{_met(one['ratio'], TARGET_ONE_FILE):>14}"
        )

    print(
        "\nEach run's call against the same run's ast.parse: the median of the per-run ratios"
        "\n(the table compares medians; the targets are judged there), and their range"
    )
    for c in rows:
        cells = []
        for k, what in (("unchanged", "unchanged"), ("one_file", "one file")):
            pairs = c[k].get("paired_ratios") or []
            spread = f" ({_x(min(pairs))}-{_x(max(pairs))})" if pairs else ""
            cells.append(f"{what} {_x(c[k].get('paired_ratio'))}{spread}")
        print(f"  {c['name']:<10}" + ", ".join(cells))

    print(
        "\nWhole process wall time, seconds (median): start to exit, interpreter and imports"
        "\nincluded; ratio = / ast.parse (the call only)"
    )
    print(f"{'corpus':<10}{'ast.parse':>12}{'cold':>16}{'warm unchanged':>18}{'one file':>16}")
    for c in rows:
        cells = [
            f"{_s(c[k]['process_median_s'], 2)} ({_x(c[k].get('process_ratio'))})"
            for k in ("cold", "unchanged", "one_file")
        ]
        print(
            f"{c['name']:<10}{_s(c['ast']['process_median_s'], 2):>12}"
            f"{cells[0]:>16}{cells[1]:>18}{cells[2]:>16}"
        )

    print(
        "\nImports before the clock (median, seconds; once per process, the same for any corpus):"
    )
    for c in rows:
        steps = ("ast", "cold", "unchanged", "one_file")
        cells = ", ".join(f"{k} {_s(c[k].get('import_median_s'))}" for k in steps)
        print(f"  {c['name']:<10}{cells}")

    print("\nWarm runs: how they ran, and the call's phases from lg.last_summary.timings (s)")
    for c in rows:
        for label in ("unchanged", "one_file"):
            r = c[label]
            if "resumed" not in r:
                continue
            phases = ", ".join(f"{k} {v:.3f}" for k, v in r["timings"].items())
            print(
                f"  {c['name']:<10}{label:<10} resumed={_one(r['resumed'])}"
                f" parsed={_one(r['files_parsed'])} mutations={r['mutations_by_type'] or 0}"
                f" | {phases}; outside the phases {r['outside_phases_s']:.3f}"
            )
        e = c["edited"]
        print(f"  {'':<10}edited {e['file']} ({e['size']:,} bytes), line {e['line']}")
    bad = [(c["name"], a) for c in rows for a in anomalies(c)]
    if bad:
        print("\nUNEXPECTED:")
        for name, text in bad:
            print(f"  {name}: {text}")
    else:
        print("\nNo anomaly: unchanged runs parsed nothing and published no mutation; one-file")
        print("runs continued (one file parsed); every warm run kept the epoch.")


def _git(*args: str) -> str:
    proc = subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO, check=False)
    return proc.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return child_main(argv[1], json.loads(argv[2]))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--corpus",
        default=",".join(DEFAULT_CORPORA),
        help="comma-separated: requests, rich, django, stdlib (default: all four)",
    )
    ap.add_argument("--runs", type=int, default=1, help="repeats per corpus (medians reported)")
    ap.add_argument("--workers", type=int, default=None, help="graphlive workers (default: all)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per child process")
    ap.add_argument(
        "--verify", action="store_true", help="compare the edited graph with a fresh one"
    )
    ap.add_argument(
        "--embedded",
        action="store_true",
        help="analyses without a URL, on the embedded Redis (the default set-up), instead of a "
        "private redis-server",
    )
    ap.add_argument(
        "--rev", default=None, help="graphlive as committed at this revision (default: work tree)"
    )
    ap.add_argument(
        "--json",
        type=Path,
        default=HERE / "results" / "warm.json",
        help="results of every run (default: benchmarks/results/warm.json)",
    )
    args = ap.parse_args(argv)
    names = [n for n in args.corpus.split(",") if n]
    sys.path[:0] = [str(HERE), str(REPO)]
    from bench_analysis import graphlive_at

    args.graphlive_src, sha = graphlive_at(args.rev, HERE / ".cache") if args.rev else (None, "")
    dirty = _git("status", "--porcelain", "--", "src/graphlive")
    source = (
        f"commit {sha[:12]} (--rev {args.rev})"
        if sha
        else f"work tree at {_git('rev-parse', '--short', 'HEAD')}"
        + (" + uncommitted changes" if dirty else "")
    )
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": len(os.sched_getaffinity(0)),
            "load_avg_at_start": os.getloadavg(),
            "graphlive": source,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        },
        "args": {
            "corpora": names,
            "runs": args.runs,
            "workers": args.workers,
            "verify": args.verify,
            "embedded": args.embedded,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
        },
        "corpora": [],
    }
    for name in names:
        results["corpora"].append(bench_corpus(name, args))
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    print_tables(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
