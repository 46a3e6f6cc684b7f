"""Helpers of the Redis Cluster tests: graph names spread over the masters, and the
least-privilege Redis user of docs/deploy.md (its rules read from the document, so the document
stays what works)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from graphlive.bus.keys import GraphKeys
from tests.redis_cluster import Cluster

DEPLOY_MD = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"
PASSWORD = "acl-test-password"


def documented_acl() -> list[str]:
    """The ``ACL SETUSER`` arguments of docs/deploy.md, the password replaced."""
    text = DEPLOY_MD.read_text()
    match = re.search(r"<!-- acl-rules:.*?-->\s*```\n(ACL SETUSER [^\n]+)\n```", text, re.S)
    assert match is not None, "docs/deploy.md has no ACL SETUSER block"
    words = shlex.split(match.group(1))
    assert words[:3] == ["ACL", "SETUSER", "graphlive"] and ">CHANGE-ME" in words
    return [f">{PASSWORD}" if w == ">CHANGE-ME" else w for w in words[2:]]


def with_documented_user(cluster: Cluster) -> None:
    """Create the documented user on every node (ACLs are per node, replicas included)."""
    for node in cluster.nodes():
        with cluster.node_client(node.port) as client:
            client.execute_command("ACL", "SETUSER", *documented_acl())


def as_documented_user(url: str) -> str:
    return url.replace("redis://", f"redis://graphlive:{PASSWORD}@", 1)


def graphs_on_each_master(cluster: Cluster, prefix: str) -> list[str]:
    """One graph name per master: ``prefix-<n>`` whose keys' slot that master owns."""
    wanted = {m.port for m in cluster.masters()}
    found: dict[int, str] = {}
    for n in range(1000):
        name = f"{prefix}-{n}"
        port = cluster.master_for_key(GraphKeys(name).meta).port
        found.setdefault(port, name)
        if set(found) == wanted:
            return [found[p] for p in sorted(found)]
    raise AssertionError(f"no graph name for every master among {prefix}-0..999")
