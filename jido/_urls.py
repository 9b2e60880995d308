"""Redis URLs in messages: what needs no Redis client (the CLI checks ``--cluster`` without ``coredis``)."""

from __future__ import annotations

import urllib.parse

__all__ = ["database_of", "redact_url"]


def redact_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, for messages and logs."""
    # The netloc is split by hand: urllib's ``port`` raises on a port that is not a number, and a URL is
    # redacted precisely when it is about to be shown in an error, which is when it may be malformed.
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparsable Redis URL>"
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url  # no password in it
    user = userinfo.partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


def database_of(url: str) -> int:
    """The database ``url`` names (0 when it names none).

    Raises:
        ValueError: it names one by something else than a number (the client would quietly use 0).
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return 0  # open_redis says what is wrong with it
    named = urllib.parse.parse_qs(parts.query).get("db", [])
    if parts.scheme.lower() != "unix" and parts.path not in ("", "/"):
        named.append(parts.path[1:])
    for db in named:
        if not (db.isascii() and db.isdigit()):
            raise ValueError(
                f"Redis URL {redact_url(url)} names database {db!r}: it must be a number (redis://host:port/0)"
            )
    return int(named[0]) if named else 0
