"""The names a cluster's nodes share: node ids and namespaces, checked once for every part of the cluster.

Both end up in Redis keys and in log lines, and a node id in every lease and inbox message: a newline in one
would split a log line, and a name of 100,000 characters would be copied into every key that carries it.
"""

from __future__ import annotations

import reprlib
from typing import Final

from jido._redis import check_namespace

__all__ = ["MAX_NAME_LENGTH", "check_cluster_namespace", "check_node_id"]

MAX_NAME_LENGTH: Final = 200
"""The most characters a node id or a cluster namespace has."""


def _shown(value: object) -> str:
    if isinstance(value, str) and len(value) > 60:
        return f"a str of {len(value)} characters starting {value[:20]!r}"
    return reprlib.repr(value)


def _plain(value: str) -> bool:
    return 0 < len(value) <= MAX_NAME_LENGTH and all(c.isprintable() and not c.isspace() for c in value)


def check_node_id(value: object) -> str:
    """Return ``value`` if it can name a node: a non-empty str of at most 200 characters, without whitespace
    or control characters.

    Raises:
        ValueError: it cannot (the message shows it, shortened when long).
    """
    if not isinstance(value, str) or not _plain(value):
        raise ValueError(
            "node_id must be a non-empty str without spaces or control characters, of at most "
            f"{MAX_NAME_LENGTH} characters, got {_shown(value)}"
        )
    return value


def check_cluster_namespace(value: object) -> str:
    """Return ``value`` if it can name a cluster's namespace: what :func:`jido._redis.check_namespace` takes
    (no braces), of at most 200 characters, without whitespace or control characters.

    Raises:
        TypeError: it is not a str.
        ValueError: it cannot (the message shows it, shortened when long).
    """
    check_namespace(value)
    assert isinstance(value, str)
    if not _plain(value):
        raise ValueError(
            "namespace must be a non-empty str without braces, spaces or control characters, of at most "
            f"{MAX_NAME_LENGTH} characters, got {_shown(value)}"
        )
    return value
