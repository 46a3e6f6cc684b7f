"""The Redis Cluster test helper (tests/redis_cluster.py), checked against the real cluster it
starts: what the helper says about the cluster is compared with where keys physically are (plain
clients of single nodes) and with what redis-py's cluster client sees."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis
from redis.cluster import RedisCluster

from tests.redis_cluster import HASH_SLOTS, Cluster, running_cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """One cluster for the tests that do not break it (each uses its own key names)."""
    with running_cluster() as started:
        yield started


@pytest.fixture
def client(cluster: Cluster) -> Iterator[RedisCluster]:
    with RedisCluster.from_url(cluster.url, decode_responses=True) as cluster_client:
        yield cluster_client


def keys_on(cluster: Cluster, port: int, pattern: str) -> set[str]:
    """Keys matching ``pattern`` stored on the one node on ``port``, asked of that node alone."""
    with cluster.node_client(port, decode_responses=True) as node:
        return set(node.scan_iter(match=pattern, count=1000))


def test_started_cluster_has_three_masters_sharing_all_slots_each_with_one_replica(
    cluster: Cluster, client: RedisCluster
) -> None:
    masters = cluster.masters()
    assert len(masters) == 3
    ranges = sorted(r for m in masters for r in m.slots)
    covered = [slot for start, end in ranges for slot in range(start, end + 1)]
    assert covered == list(range(HASH_SLOTS))  # every slot exactly once
    replicas = cluster.replicas()
    assert sorted(r.master_id or "" for r in replicas) == sorted(m.node_id for m in masters)
    assert len(cluster.urls) == 6
    assert cluster.url in {m.url for m in masters}
    # redis-py, started from the one URL, discovers the same masters.
    assert {node.port for node in client.get_primaries()} == {m.port for m in masters}
    for replica in replicas:
        with cluster.node_client(replica.port, decode_responses=True) as node:
            assert node.info("replication")["master_link_status"] == "up"


def test_keys_spread_over_the_three_masters_where_the_helper_says(
    cluster: Cluster, client: RedisCluster
) -> None:
    keys = {f"spread:{i}" for i in range(300)}
    for key in keys:
        client.set(key, key)
    found = {m.port: keys_on(cluster, m.port, "spread:*") for m in cluster.masters()}
    assert all(found.values()), found  # no master is left without keys
    assert set().union(*found.values()) == keys
    for port, stored in found.items():
        assert {cluster.master_for_key(key).port for key in stored} == {port}


def test_master_for_key_agrees_with_the_cluster_client(
    cluster: Cluster, client: RedisCluster
) -> None:
    for i in range(200):
        key = f"agree:{i}"
        assert cluster.key_slot(key) == client.keyslot(key)
        assert cluster.master_for_key(key).port == client.get_node_from_key(key).port


def test_hash_tagged_keys_land_on_one_master(cluster: Cluster, client: RedisCluster) -> None:
    keys = {f"{{user:42}}:{part}" for part in ("profile", "friends", "posts", "likes")}
    for key in keys:
        client.set(key, "x")
    (owner,) = {cluster.master_for_key(key).port for key in keys}
    assert keys_on(cluster, owner, "{user:42}:*") == keys
    for other in (m.port for m in cluster.masters() if m.port != owner):
        assert keys_on(cluster, other, "{user:42}:*") == set()
    # Untagged, the same names do not all share a slot: the tag is what put them together.
    assert len({cluster.key_slot(key.replace("{user:42}", "user:42")) for key in keys}) > 1


def test_migrate_slot_moves_the_slot_with_its_keys(cluster: Cluster, client: RedisCluster) -> None:
    # More keys than one MIGRATE batch, so the loop over GETKEYSINSLOT runs more than once.
    keys = [f"{{migrate}}:{i}" for i in range(250)]
    for key in keys:
        client.set(key, key.upper())
    slot = cluster.key_slot(keys[0])
    source = cluster.master_for_key(keys[0])
    target = next(m for m in cluster.masters() if m.port != source.port)

    cluster.migrate_slot(slot, target.port, batch=100)

    assert cluster.master_for_key(keys[0]).port == target.port
    assert cluster.slot_owner(slot).node_id == target.node_id
    with cluster.node_client(target.port) as node:
        assert node.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == len(keys)
    with cluster.node_client(source.port) as node:
        assert node.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0
        # The old owner redirects for good (MOVED, not ASK): the migration is closed.
        with pytest.raises(redis.exceptions.MovedError) as moved:
            node.get(keys[0])
        assert moved.value.node_addr == ("127.0.0.1", target.port)
    # A client that cached the old owner follows the redirection; a new one asks the new owner.
    assert [client.get(key) for key in keys] == [key.upper() for key in keys]
    with RedisCluster.from_url(cluster.url, decode_responses=True) as fresh:
        assert fresh.get_node_from_key(keys[0]).port == target.port
        assert fresh.get(keys[-1]) == keys[-1].upper()


def test_killed_master_is_replaced_by_its_replica_and_close_cleans_up() -> None:
    # A cluster of its own: the kill leaves a shard without a replica for good.
    with running_cluster() as cluster:
        key = "failover:key"
        victim = cluster.master_for_key(key)
        (replica,) = cluster.replicas(of_port=victim.port)
        with cluster.node_client(victim.port, decode_responses=True) as node:
            node.set(key, "before")
            assert node.wait(1, 5000) == 1  # the replica has it before the master dies

        cluster.kill(victim.port)
        promoted = cluster.wait_for_failover(victim.port)

        assert promoted.node_id == replica.node_id
        assert promoted.slots == victim.slots
        assert cluster.master_for_key(key) == promoted
        assert victim.url not in cluster.urls
        assert len(cluster.masters()) == 3
        with RedisCluster.from_url(cluster.url, decode_responses=True) as client:
            assert client.get_node_from_key(key).port == promoted.port
            assert client.get(key) == "before"
            client.set(key, "after")
            assert client.get(key) == "after"
        workdir, ports = cluster.workdir, [n.port for n in cluster.nodes()]

    assert not workdir.exists()
    for port in ports:  # a bare connect: redis-py would retry a refused one for seconds
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
