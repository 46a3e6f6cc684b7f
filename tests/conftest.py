from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
import redis

from graphlive.bus.connection import Client, connect
from tests.cluster_graphs import with_documented_user
from tests.redis_cluster import Cluster, running_cluster
from tests.redis_servers import running_redis


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real redis-server shared by the session (tests use distinct graph names)."""
    with running_redis() as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def graph_name(request: pytest.FixtureRequest) -> str:
    """A graph name unique to the test, so tests sharing one server never see each other."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"t-{request.node.name[:40]}-{os.urandom(4).hex()}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A real Redis Cluster (3 masters + 3 replicas on loopback) for one test module, with the
    least-privilege user of docs/deploy.md (tests that kill nodes pick masters with replicas)."""
    with running_cluster() as started:
        with_documented_user(started)
        yield started


@pytest.fixture
def cluster_client(cluster: Cluster) -> Iterator[Client]:
    """A cluster client given one node's ``redis://`` URL, as users configure it."""
    client = connect(cluster.url)
    yield client
    client.close()
