"""What REDIS_URL names: one Redis server, or the startup nodes of a Redis Cluster."""

from __future__ import annotations

from urllib.parse import urlsplit

CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")


def is_cluster_url(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEMES)


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """The startup nodes a cluster URL names (`host:port` separated by commas; 6379 when a
    port is left out). ValueError for a URL that names none or a port out of range."""
    netloc = urlsplit(url).netloc.rpartition("@")[2]
    nodes = []
    for part in filter(None, netloc.split(",")):
        node = urlsplit(f"//{part}")
        port = node.port or 6379  # ValueError when out of range
        if not node.hostname:
            raise ValueError(f"{part!r} is not host:port")
        nodes.append((node.hostname, port))
    if not nodes:
        raise ValueError("names no host:port")
    return nodes
