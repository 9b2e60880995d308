"""Redis URLs in messages: what needs no Redis client (the CLI checks ``--cluster`` without ``coredis``)."""

from __future__ import annotations

import urllib.parse

__all__ = ["redact_url"]


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
