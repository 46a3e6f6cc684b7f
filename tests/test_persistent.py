"""Persistent graphs: new processes continue the stored graph, one writer at a time.

Every analysis here runs in a process of its own (``python -c``), as a user's CLI runs or a
restarted kernel would, against a real Redis; the analysis cache lives in a per-test data folder.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import graphlive
from graphlive import forked
from graphlive.analysis_cache import CacheEntry, root_id
from graphlive.bus.keys import GraphKeys
from graphlive.bus.snapshot import load_graph
from graphlive.events import ChangeEvent, EventType, decode

# The child prints one JSON line: what its analysis did and where the stream stood after it.
_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import graphlive
    from graphlive.live import LiveGraph
    root, graph, url, reset, pause = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    lg = LiveGraph(graph, root=root, redis_url=url)
    lg.wait_note = lambda text: print("NOTE " + text, file=sys.stderr, flush=True)
    if pause:
        lg.prompt_after = 0  # paused mid-run: what came before is published (a short run waits)

    def progress(p):
        if pause == "write" and p.phase == "write" and p.done * 2 >= p.total:
            print("PAUSED", flush=True)
            time.sleep(600)

    s = lg.analyze(root, reset=reset == "1", progress=progress, workers=1)
    print(json.dumps({
        "resumed": lg.resumed, "note": lg.epoch_note, "epoch": lg.position.epoch,
        "seq": lg.position.seq, "parsed": s.files_parsed, "nodes": s.nodes,
        "graph_read": lg._graph is not None,
    }), flush=True)
    lg.close()
    """
)


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, GRAPHLIVE_DATA_DIR=str(data), **extra)
    env.pop("GRAPHLIVE_REDIS_URL", None)
    return env


def _start(root: Path, graph: str, url: str, data: Path, *, reset: bool = False,
           pause: str = "", **env: str) -> subprocess.Popen[str]:  # fmt: skip
    args = [sys.executable, "-c", _CHILD, str(root), graph, url, "1" if reset else "0", pause]
    return subprocess.Popen(
        args, env=_env(data, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _run(root: Path, graph: str, url: str, data: Path, **kwargs: Any) -> dict[str, Any]:
    proc = _start(root, graph, url, data, **kwargs)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["stderr"] = err
    return result


def _events(client: redis.Redis, graph: str, after: int = 0) -> list[ChangeEvent]:
    entries: Any = client.xrange(GraphKeys(graph).events, f"{after + 1}-0", "+")
    return [decode(fields[b"e"]) for _, fields in entries]


def _mutations(client: redis.Redis, graph: str, after: int) -> list[ChangeEvent]:
    return [e for e in _events(client, graph, after) if e.type.is_mutation]


def _fresh(root: Path) -> graphlive.LiveGraph:
    return graphlive.analyze(root, publish=False, workers=1)


def _event_file(event: ChangeEvent) -> str | None:
    data = event.data
    item = data.get("node") or data.get("edge") or data
    return item.get("file")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    pkg = root / "shop"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text(
        "class Item:\n    def price(self):\n        return 1\n\n"
        "class Order:\n    def total(self, items):\n        return sum(i.price() for i in items)\n"
    )
    (pkg / "cart.py").write_text(
        "from shop.models import Item, Order\n\n"
        "def checkout():\n    order = Order()\n    return order.total([Item()])\n\n"
        "def helper():\n    return 2\n"
    )
    (pkg / "api.py").write_text(
        "from shop import cart\n\ndef handle():\n    return cart.checkout()\n"
    )
    return root


@pytest.fixture
def big_project(tmp_path: Path) -> Path:
    """Enough modules that an analysis takes a moment and publishes several transactions."""
    root = tmp_path / "big"
    pkg = root / "big"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for i in range(120):
        prev = f"from big.m{i - 1} import f{i - 1}\n" if i else ""
        body = "".join(f"def g{i}_{j}(x):\n    return f{i}(x) + {j}\n\n" for j in range(15))
        call = f"    return f{i - 1}(x)\n" if i else "    return x\n"
        (pkg / f"m{i}.py").write_text(f"{prev}\ndef f{i}(x):\n{call}\n{body}")
    return root


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def graph(request: pytest.FixtureRequest) -> str:
    return f"persist-{request.node.name[:60]}".replace("[", "-").replace("]", "")


def test_a_second_process_on_an_unchanged_tree_publishes_no_mutation(
    project: Path, graph: str, redis_url: str, redis_client: redis.Redis, data: Path
) -> None:
    first = _run(project, graph, redis_url, data)
    assert first["resumed"] == "new-epoch" and first["note"] == "the graph is new"
    second = _run(project, graph, redis_url, data)
    assert second["resumed"] == "unchanged"
    assert second["epoch"] == first["epoch"] and second["parsed"] == 0
    assert second["nodes"] == first["nodes"]
    assert _mutations(redis_client, graph, first["seq"]) == []
    kinds = [e.type for e in _events(redis_client, graph, first["seq"])]
    assert kinds == [EventType.ANALYSIS_STARTED, EventType.ANALYSIS_COMPLETED]
    # A third process, now without the cache (deleted): parses everything, still no mutation.
    CacheEntry(graph, root_id(project), folder=data / "analysis-cache").remove()
    third = _run(project, graph, redis_url, data)
    assert third["resumed"] == "full" and third["parsed"] == 4
    assert third["epoch"] == first["epoch"]
    assert _mutations(redis_client, graph, second["seq"]) == []


def test_a_one_function_change_in_a_new_process_publishes_only_that_files_diff(
    project: Path, graph: str, redis_url: str, redis_client: redis.Redis, data: Path
) -> None:
    first = _run(project, graph, redis_url, data)
    cart = project / "shop" / "cart.py"
    cart.write_text(cart.read_text().replace("return 2", "return Item().price()"))
    second = _run(project, graph, redis_url, data)
    assert second["resumed"] == "continued" and second["parsed"] == 1
    assert second["epoch"] == first["epoch"]
    changes = _mutations(redis_client, graph, first["seq"])
    assert changes, "the new call must be published"
    assert {_event_file(e) for e in changes} == {"shop/cart.py"}
    assert EventType.GRAPH_RESET not in {e.type for e in changes}
    # The stored graph is exactly what a fresh analysis of the tree gives.
    stored, _ = load_graph(redis_client, graph)
    assert stored == _fresh(project).graph
    assert "shop.models.Item.price" in {e.target for e in stored.out_edges("shop.cart.helper")}


def test_a_touched_but_unchanged_file_is_not_reparsed(
    project: Path, graph: str, redis_url: str, redis_client: redis.Redis, data: Path
) -> None:
    first = _run(project, graph, redis_url, data)
    api = project / "shop" / "api.py"
    os.utime(api, ns=(time.time_ns() + 10**10, time.time_ns() + 10**10))
    second = _run(project, graph, redis_url, data)
    assert second["resumed"] == "unchanged" and second["parsed"] == 0
    assert _mutations(redis_client, graph, first["seq"]) == []


def test_a_continued_analysis_runs_no_collection_and_promotes_what_it_allocated(
    project: Path, graph: str, redis_url: str, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector pauses for the whole ``analyze`` call (LiveGraph.analyze), in this process:
    with a threshold that would collect dozens of times during the call (every 100 objects), none
    runs, and after it the collector is on again with nothing left in the older young
    generation (what the call allocated was promoted)."""
    _run(project, graph, redis_url, data)
    cart = project / "shop" / "cart.py"
    cart.write_text(cart.read_text().replace("return 2", "return Item().price()"))
    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(data))
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    thresholds = gc.get_threshold()
    lg = graphlive.LiveGraph(graph, root=project, redis_url=redis_url)
    gc.collect()
    gc.callbacks.append(count)
    gc.set_threshold(100)
    try:
        summary = lg.analyze(workers=1)
        counts = gc.get_count()
        enabled = gc.isenabled()
    finally:
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(count)
        lg.close()
    assert lg.resumed == "continued" and summary.files_parsed == 1
    assert collections == []
    assert enabled and counts[1:] == (0, 0)


def test_new_epochs_only_when_asked_or_when_the_stored_graph_cannot_be_used(
    project: Path, tmp_path: Path, graph: str, redis_url: str, redis_client: redis.Redis,
    data: Path,
) -> None:  # fmt: skip
    first = _run(project, graph, redis_url, data)
    asked = _run(project, graph, redis_url, data, reset=True)
    assert asked["resumed"] == "new-epoch" and asked["note"] == "a reset was requested"
    assert asked["epoch"] != first["epoch"] and asked["parsed"] == 0  # the cache still spares it
    # Another folder under the same graph name: a new epoch that says why.
    other = tmp_path / "elsewhere" / "shop"
    other.mkdir(parents=True)
    (other / "one.py").write_text("def f():\n    return 1\n")
    moved = _run(other, graph, redis_url, data)
    assert moved["resumed"] == "new-epoch"
    assert moved["note"] == "the stored graph is the analysis of another folder ('shop')"
    # A graph written by something that recorded no analysis (a tool, an older graphlive).
    redis_client.hdel(GraphKeys(graph).meta, "root", "analysis_format")
    legacy = _run(other, graph, redis_url, data)
    assert legacy["resumed"] == "new-epoch" and "records no analysis" in legacy["note"]
    # Another analysis format.
    redis_client.hset(GraphKeys(graph).meta, "analysis_format", 999)
    bumped = _run(other, graph, redis_url, data)
    assert "analysis format 999" in bumped["note"]
    # A history Redis cannot rebuild (its stream lost entries the snapshot does not cover).
    redis_client.hset(GraphKeys(graph).meta, "snapshot_seq", 0)
    redis_client.delete(GraphKeys(graph).snapshot)
    redis_client.xtrim(GraphKeys(graph).events, minid=f"{bumped['seq']}-0")
    lost = _run(other, graph, redis_url, data)
    assert lost["resumed"] == "new-epoch" and "cannot be rebuilt" in lost["note"]
    stored, _ = load_graph(redis_client, graph)
    assert stored == _fresh(other).graph


def test_a_damaged_cache_is_ignored_and_mended(
    project: Path, graph: str, redis_url: str, redis_client: redis.Redis, data: Path
) -> None:
    first = _run(project, graph, redis_url, data)
    entry = CacheEntry(graph, root_id(project), folder=data / "analysis-cache")
    entry.state_path.write_bytes(b"not a pickle")
    (project / "shop" / "api.py").write_text("def handle():\n    return 3\n")
    second = _run(project, graph, redis_url, data)
    assert second["resumed"] == "full" and second["parsed"] == 4  # nothing to continue from
    assert second["epoch"] == first["epoch"]
    assert {_event_file(e) for e in _mutations(redis_client, graph, first["seq"])} == {
        "shop/api.py"
    }
    entry.header_path.write_bytes(b"\x80garbage")
    third = _run(project, graph, redis_url, data)
    assert third["resumed"] == "full" and third["epoch"] == first["epoch"]
    fourth = _run(project, graph, redis_url, data)
    assert fourth["resumed"] == "unchanged"  # the last run saved a good entry again


def test_two_writers_at_once_take_turns_in_one_epoch(
    big_project: Path, graph: str, redis_url: str, redis_client: redis.Redis, data: Path
) -> None:
    a = _start(big_project, graph, redis_url, data)
    b = _start(big_project, graph, redis_url, data)
    (out_a, err_a), (out_b, err_b) = a.communicate(timeout=120), b.communicate(timeout=120)
    assert a.returncode == 0 and b.returncode == 0, err_a + err_b
    results = [json.loads(out_a.strip()), json.loads(out_b.strip())]
    assert results[0]["epoch"] == results[1]["epoch"]
    # One of them waited for the other, and said so.
    assert "NOTE waiting for analyze" in err_a + err_b
    events = _events(redis_client, graph)
    assert [e.type for e in events].count(EventType.GRAPH_RESET) == 1
    # The second writer published no mutation: the first had written it all.
    later = max(results, key=lambda r: r["seq"])
    earlier = min(results, key=lambda r: r["seq"])
    assert later["resumed"] in ("unchanged", "continued", "full")
    assert _mutations(redis_client, graph, earlier["seq"]) == []
    stored, _ = load_graph(redis_client, graph)
    assert stored == _fresh(big_project).graph


@pytest.fixture
def killed() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def test_a_writer_killed_mid_analysis_is_continued_in_the_same_epoch(
    big_project: Path, graph: str, redis_url: str, redis_client: redis.Redis, data: Path,
    killed: list[subprocess.Popen[str]],
) -> None:  # fmt: skip
    ttl = {"GRAPHLIVE_WRITER_TTL_MS": "1500"}
    owner = _start(big_project, graph, redis_url, data, pause="write", **ttl)
    killed.append(owner)
    assert owner.stdout is not None
    assert owner.stdout.readline().strip() == "PAUSED"  # half of its files are published
    epoch = redis_client.hget(GraphKeys(graph).meta, "epoch")
    published = _events(redis_client, graph)
    assert any(e.type is EventType.NODE_ADDED for e in published)
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait(30)
    assert redis_client.get(GraphKeys(graph).writer) is not None  # its lease outlives it
    after = _run(big_project, graph, redis_url, data, **ttl)
    assert "NOTE waiting for analyze" in after["stderr"]
    assert after["epoch"] == epoch.decode()
    assert [e.type for e in _events(redis_client, graph)].count(EventType.GRAPH_RESET) == 1
    stored, _ = load_graph(redis_client, graph)
    assert stored == _fresh(big_project).graph


def test_a_writer_that_lost_its_lease_cannot_publish(
    project: Path, graph: str, redis_url: str, redis_client: redis.Redis, data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(data))
    lg = graphlive.analyze(project, graph=graph, redis_url=redis_url)
    try:
        # Someone else holds the lease now: this session's next publish is refused whole.
        redis_client.set(GraphKeys(graph).writer, "analyze|host|1|0|other", px=60_000)
        head = int(redis_client.hget(GraphKeys(graph).meta, "seq") or 0)
        with pytest.raises(graphlive.live.NotWriter, match=r"analyze\|host\|1\|0\|other"):
            lg.graph.remove_node("shop.cart.helper")  # published at once, outside an analysis
        assert int(redis_client.hget(GraphKeys(graph).meta, "seq") or 0) == head
    finally:
        redis_client.delete(GraphKeys(graph).writer)
        lg.close()


def test_a_restored_analysis_whose_state_file_went_saves_a_whole_state(
    project: Path, graph: str, redis_url: str, redis_client: redis.Redis, data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A small update saves the header alone, beside the state it continues; with that state
    deleted meanwhile, the whole state is saved instead (by a forked child, which reads the
    parts the restored analysis never loaded from the deleted file it keeps open)."""
    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(data))
    entry = CacheEntry(graph, root_id(project), folder=data / "analysis-cache")
    first = _run(project, graph, redis_url, data)
    cart = project / "shop" / "cart.py"
    original = cart.read_text()
    cart.write_text(original.replace("return 2", "return Item().price()"))
    forked.wait_children()
    lg = graphlive.analyze(project, graph=graph, redis_url=redis_url, workers=1)
    try:
        assert lg.resumed == "continued" and lg.position.epoch == first["epoch"]
        header = entry.header()
        assert header is not None and header.dirty == ("shop/cart.py",)
        entry.state_path.unlink()
        cart.write_text(original.replace("return 2", "return 3"))
        lg.analyze()
        assert forked.wait_children() == [0]
        header = entry.header()
        assert header is not None and header.dirty == () and entry.state_path.exists()
    finally:
        lg.close()
    stored, _ = load_graph(redis_client, graph)
    assert stored == _fresh(project).graph
    # The next process continues from that state: only what changed since is parsed.
    again = _run(project, graph, redis_url, data)
    assert again["resumed"] == "unchanged" and again["epoch"] == first["epoch"]


def test_a_restored_analysis_retracts_what_flowed_into_other_files(
    project: Path, graph: str, redis_url: str, redis_client: redis.Redis, data: Path
) -> None:
    """The saved solver must retract derived values after a round trip through the cache
    (a marker compared by identity once came back as another object, and nothing was)."""
    models = project / "shop" / "models.py"
    models.write_text(models.read_text() + "\n\ndef make():\n    return Item()\n")
    (project / "shop" / "api.py").write_text(
        "from shop.models import make\n\ndef handle():\n    return make().price()\n"
    )
    first = _run(project, graph, redis_url, data)
    stored, _ = load_graph(redis_client, graph)
    assert "shop.models.Item.price" in {e.target for e in stored.out_edges("shop.api.handle")}
    models.write_text(models.read_text().replace("return Item()", "return Order()"))
    second = _run(project, graph, redis_url, data)
    assert second["resumed"] == "continued" and second["parsed"] == 1
    assert second["epoch"] == first["epoch"]
    stored, _ = load_graph(redis_client, graph)
    assert stored == _fresh(project).graph
    targets = {e.target for e in stored.out_edges("shop.api.handle")}
    assert "shop.models.Item.price" not in targets
    changed = {_event_file(e) for e in _mutations(redis_client, graph, first["seq"])}
    assert "shop/api.py" in changed  # the edge another file owned went with the change


def test_the_saved_solver_keeps_its_identity_markers(project: Path) -> None:
    """Records compared by identity (``_MANY``) must come back as the same object."""
    import pickle

    from graphlive.analysis import solver_values

    (project / "shop" / "pairs.py").write_text(
        "def two():\n    return 1, 2\n\ndef use():\n    a, b = two()\n    c = d = two()\n"
        "    return a, b, c, d\n"
    )
    lg = graphlive.analyze(project, publish=False, workers=1)
    assert lg.analyzer is not None
    state = pickle.loads(pickle.dumps(lg.analyzer.export_state()))
    state["program"].load_all()  # saved in parts, one per file
    records = [w for w in state["program"].solver.cwrites if isinstance(w, tuple) and w]
    many = [w for w in records if repr(w[0]) == "_MANY"]
    assert many, "the project must have constraints that write several variables"
    assert all(w[0] is solver_values._MANY for w in many)


def test_incremental_runs_save_a_header_and_later_processes_build_on_it(
    project: Path, graph: str, redis_url: str, redis_client: redis.Redis, data: Path
) -> None:
    """After a one-file update only the header is saved (naming the file); the next processes
    continue from the older state plus that list, whatever they find: another edit, a revert,
    an unchanged tree. The stored graph equals a fresh analysis after each."""
    entry = CacheEntry(graph, root_id(project), folder=data / "analysis-cache")
    first = _run(project, graph, redis_url, data)
    base = entry.header()
    assert base is not None and base.dirty == ()
    state_bytes = entry.state_path.read_bytes()
    cart = project / "shop" / "cart.py"
    original = cart.read_text()

    def step(expect_parsed: int) -> dict[str, Any]:
        result = _run(project, graph, redis_url, data)
        assert result["resumed"] == "continued" and result["epoch"] == first["epoch"]
        assert result["parsed"] == expect_parsed
        stored, _ = load_graph(redis_client, graph)
        assert stored == _fresh(project).graph
        return result

    cart.write_text(original.replace("return 2", "return Item().price()"))
    edited = step(1)
    header = entry.header()
    assert header is not None and header.state_token == base.state_token
    assert "shop/cart.py" in header.dirty and header.seq == edited["seq"]
    assert entry.state_path.read_bytes() == state_bytes  # the state was not written again
    # Another file now: cart.py is parsed again (changed since the state) and compared.
    api = project / "shop" / "api.py"
    api.write_text(api.read_text() + "\n\ndef extra():\n    return handle()\n")
    second = step(2)
    assert {_event_file(e) for e in _mutations(redis_client, graph, edited["seq"])} == {
        "shop/api.py"
    }
    # Back to the saved content: cart.py equals the state's facts (not parsed) but the graph
    # holds the edit; being in the header's list, it is compared and put back.
    cart.write_text(original)
    step(1)
    changed = {_event_file(e) for e in _mutations(redis_client, graph, second["seq"])}
    assert changed == {"shop/cart.py"}
    header = entry.header()
    assert header is not None and {"shop/cart.py", "shop/api.py"} <= set(header.dirty)
    unchanged = _run(project, graph, redis_url, data)
    assert unchanged["resumed"] == "unchanged" and unchanged["parsed"] == 0


def _content(event: ChangeEvent) -> tuple[str, str]:
    return event.type.value, json.dumps(event.data, sort_keys=True)


def test_a_new_process_updates_a_working_copy_with_the_events_of_the_whole_graph(
    project: Path, graph: str, redis_url: str, redis_client: redis.Redis, data: Path
) -> None:
    """A process continuing a stored graph does not read it from Redis: each update seeds a
    working copy with what it touches, from the saved analysis. Its events must be those an
    update of the whole graph in memory makes, whatever the edit: new edges into other files,
    a definition removed while other files call it (the removal takes their edges along), a
    class renamed under an import, several files at once, and edits on top of edits (later
    processes continue a header naming the files written). A file deleted or added changes
    the tree's structure: that run resolves everything against the whole graph, read from
    Redis, and publishes the same difference."""
    first = _run(project, graph, redis_url, data)
    reference = graphlive.analyze(project, publish=False, workers=1)
    seen: list[ChangeEvent] = []
    reference.graph.listen(seen.extend)
    pkg = project / "shop"
    originals = {p.name: p.read_text() for p in pkg.iterdir()}
    edits: list[dict[str, str | None]] = [
        {"cart.py": originals["cart.py"].replace("return 2", "return Item().price()")},
        {"cart.py": originals["cart.py"].replace("def checkout", "def pay")},
        {"models.py": originals["models.py"].replace("class Order", "class Basket")},
        {"api.py": None},
        {"extra.py": "from shop import cart\n\ndef run():\n    return cart.helper()\n"},
        {name: originals[name] for name in ("cart.py", "models.py", "api.py")},
        {
            "models.py": originals["models.py"] + "\n\ndef make():\n    return Order()\n",
            "cart.py": originals["cart.py"]
            .replace("return 2", "return make().total([])")
            .replace("import Item, Order", "import Item, Order, make"),
        },
        {"models.py": originals["models.py"], "cart.py": originals["cart.py"]},
    ]
    seq = first["seq"]
    for edit in edits:
        before = {p.name for p in pkg.iterdir()}
        for name, text in edit.items():
            if text is None:
                (pkg / name).unlink(missing_ok=True)
            else:
                (pkg / name).write_text(text)
        seen.clear()
        reference.update([pkg / name for name in edit])
        expected = sorted(_content(e) for e in seen if e.type.is_mutation)
        result = _run(project, graph, redis_url, data)
        structure = before != {p.name for p in pkg.iterdir()}
        assert result["epoch"] == first["epoch"], edit
        assert result["resumed"] == ("full" if structure else "continued"), edit
        assert result["graph_read"] is structure, edit
        published = sorted(_content(e) for e in _mutations(redis_client, graph, seq))
        assert published == expected, edit
        assert expected, f"the edit {edit} must change the graph"
        stored, _ = load_graph(redis_client, graph)
        assert stored == _fresh(project).graph == reference.graph
        seq = result["seq"]


def test_a_working_copy_republishes_the_whole_graph_when_redis_lost_it(
    project: Path, graph: str, redis_url: str, redis_client: redis.Redis, data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Redis restarted empty while a session continued a stored graph without reading it: the
    session's next publish finds the history gone and sends the whole graph again, rebuilt
    from what its writer remembers (Redis no longer has it to read)."""
    monkeypatch.setenv("GRAPHLIVE_DATA_DIR", str(data))
    _run(project, graph, redis_url, data)
    lg = graphlive.LiveGraph(graph, root=project, redis_url=redis_url)
    cart = project / "shop" / "cart.py"
    cart.write_text(cart.read_text().replace("return 2", "return Item().price()"))
    lg.analyze(project, workers=1)
    assert lg.resumed == "continued" and lg._graph is None
    keys = GraphKeys(graph)
    redis_client.delete(keys.events, keys.meta, keys.snapshot)
    cart.write_text(cart.read_text() + "\n\ndef more():\n    return helper()\n")
    lg.update([cart])
    lg.close()
    stored, _ = load_graph(redis_client, graph)
    assert stored.node_count > 0
    assert stored == _fresh(project).graph
