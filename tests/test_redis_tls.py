"""``rediss://`` URLs against a real TLS Redis: a single server and a (one-node) Redis Cluster.

The bundled redis-server is built without TLS; these tests run Debian's (package
``redis-tools``, whose ``redis-check-rdb`` is the server binary, started under the name
``redis-server``; scripts/test.sh installs it). Certificates are made for the test by openssl: a
CA and a server certificate for 127.0.0.1, which the client verifies (``ssl_ca_certs`` in the
URL's query)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.cluster

from graphlive.bus.connection import connect, connect_async, is_cluster
from graphlive.bus.publisher import Publisher
from graphlive.bus.reader import AsyncStreamReader, Position, StreamReader
from graphlive.bus.snapshot import load_graph
from graphlive.live import analyze
from tests.redis_servers import stop_process
from tests.test_analyze_cli import write_project
from tests.test_bus import diag

#: Debian's Redis server binary (package redis-tools), built with TLS.
DEBIAN_REDIS = Path("/usr/bin/redis-check-rdb")


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server key and certificate for 127.0.0.1 signed by it."""
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.crt", "s.key", "s.csr", "s.crt")
    )
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=graphlive test CA", "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(key), "-out", str(csr))  # fmt: skip
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert))  # fmt: skip
    return ca, key, cert


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=["single", "cluster"])
def tls_redis(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, bool]]:
    """``rediss://`` URL of a TLS-only Redis (no plain port), alone or as a one-node cluster,
    and whether it is the cluster."""
    if not DEBIAN_REDIS.exists() or shutil.which("openssl") is None:
        pytest.fail("needs Debian's redis-tools and openssl (scripts/test.sh installs them)")
    folder = tmp_path_factory.mktemp("tls")
    ca, key, cert = make_certificates(folder)
    port = free_port()
    args = ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
            "--tls-cert-file", str(cert), "--tls-key-file", str(key),
            "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no",
            "--save", "", "--appendonly", "no", "--dir", str(folder),
            "--logfile", str(folder / "redis.log")]  # fmt: skip
    clustered = request.param == "cluster"
    if clustered:
        # An explicit bus port: the implicit one (port + 10000) does not exist for ports above
        # 55535, which the kernel hands out as free ports too.
        args += ["--cluster-enabled", "yes", "--tls-cluster", "yes",
                 "--cluster-port", str(free_port()),
                 "--cluster-config-file", str(folder / "nodes.conf")]  # fmt: skip
    proc = subprocess.Popen(args, executable=str(DEBIAN_REDIS))
    url = f"rediss://127.0.0.1:{port}?ssl_ca_certs={ca}"
    try:
        admin = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(ca))
        deadline = time.monotonic() + 20
        while True:  # polling a starting server process
            try:
                admin.ping()
                break
            except redis.ConnectionError:
                assert proc.poll() is None, (folder / "redis.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "TLS redis-server did not answer"
                time.sleep(0.05)
        if clustered:
            admin.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            while b"cluster_state:ok" not in admin.execute_command("CLUSTER", "INFO"):
                assert time.monotonic() < deadline + 20, "one-node cluster not ok"
                time.sleep(0.05)
        admin.close()
        yield url, clustered
    finally:
        stop_process(proc, timeout=10)


def test_publish_read_and_analyze_over_tls(tls_redis: tuple[str, bool], tmp_path: Path) -> None:
    tls_url, clustered = tls_redis
    assert is_cluster(tls_url) is clustered
    client = connect(tls_url)
    try:
        assert isinstance(client, redis.cluster.RedisCluster) is clustered
        pub = Publisher(client, "tls-bus")
        result = pub.publish([diag("tls-bus", i) for i in range(30)])
        events = StreamReader(client, "tls-bus").read(Position(result.epoch, 0))
        assert [e.seq for e in events] == list(range(1, 31))
    finally:
        client.close()

    async def head() -> Position:
        aclient = connect_async(tls_url)
        try:
            return await AsyncStreamReader(aclient, "tls-bus").head()
        finally:
            await aclient.aclose()

    assert asyncio.run(head()) == Position(result.epoch, 30)

    write_project(tmp_path)
    env = {**os.environ, "GRAPHLIVE_REDIS_URL": tls_url}
    cmd = [sys.executable, "-m", "graphlive.cli", "analyze", str(tmp_path), "--graph", "tls-cli"]
    out = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    client = connect(tls_url)
    try:
        loaded, pos = load_graph(client, "tls-cli")
    finally:
        client.close()
    assert loaded == analyze(tmp_path, graph="tls-cli", publish=False).graph
    assert pos == Position(summary["epoch"], summary["last_seq"])


def test_a_certificate_from_another_ca_is_refused(
    tls_redis: tuple[str, bool], tmp_path: Path
) -> None:
    other_ca, _, _ = make_certificates(tmp_path)
    url = tls_redis[0].split("?", 1)[0] + f"?ssl_ca_certs={other_ca}"
    with pytest.raises(redis.ConnectionError, match=r"(?i)certificate"):
        client = connect(url, socket_connect_timeout=5)
        try:
            client.ping()
        finally:
            client.close()
