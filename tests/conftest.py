from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
import redis

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
