"""Who may see the operations surface, who may change things through it, and the browser's guard rails.

Two ways in:

* ``Authorization: Bearer <token>`` on any request (Prometheus scrapes, curl, scripts). A request that carries
  its own token cannot be forged by another site: a browser never adds that header by itself.
* A session cookie, for the dashboard in a browser: ``POST /login`` with a token sets it (``HttpOnly``,
  ``SameSite=Strict``). Each session has a CSRF token (``GET /api/session`` gives it to the page) that every
  changing request must echo in the ``X-Jido-CSRF`` header, and such a request must come from the page's own
  origin (its ``Origin`` header).

With no tokens (``Access(None)``, allowed on a loopback address only) everyone may see and change, and a
session is handed out on first use, so the CSRF and origin checks still stand between another site open in
the same browser and the runtime. On a loopback address the ``Host`` header must name a loopback host too:
a page whose DNS name is re-pointed at 127.0.0.1 (DNS rebinding) is refused before anything else.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from typing import Final

import attrs

from jido.gateway.policy import TOKEN_NAME, identity_of

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "MAX_SESSIONS",
    "OPEN_IDENTITY",
    "Access",
    "OpsToken",
    "Principal",
    "host_is_loopback",
]

COOKIE: Final = "jido_ops"
CSRF_HEADER: Final = "x-jido-csrf"
MAX_SESSIONS: Final = 1024
"""Sessions kept; the oldest is forgotten past it (its browser signs in again). Bounds what logins cost."""
OPEN_IDENTITY: Final = "anonymous"


@attrs.frozen
class OpsToken:
    """What a token may do on the operations surface.

    Attributes:
        admin: it may change things (redrive or discard a dead letter, restart an agent); without it, it
            may only look.
        name: who it is in logs and events (default: a digest of the token, as the gateway derives it).
    """

    admin: bool = False
    name: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.admin, bool):
            raise TypeError(f"OpsToken.admin must be a bool, got {self.admin!r}")
        if self.name is not None and (not isinstance(self.name, str) or not TOKEN_NAME.match(self.name)):
            raise ValueError(f"OpsToken.name must be 1 to 128 of [A-Za-z0-9_.:@-], got {self.name!r}")


@attrs.frozen
class Principal:
    """Who a request comes from: their name, whether they may change things, and how they proved it."""

    name: str
    admin: bool
    session: str | None = None  # the session id, when it came with the cookie
    csrf: str | None = None  # that session's CSRF token


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def host_is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is a loopback one."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Access:
    """The tokens the surface accepts, and the browser sessions signed in with them.

    Args:
        tokens: token -> what it may do; None lets everyone in as an admin (loopback only, see
            :func:`jido.ops.serve_ops`).
    """

    def __init__(self, tokens: Mapping[str, OpsToken] | None) -> None:
        if tokens is not None:
            if not isinstance(tokens, Mapping):
                raise TypeError(f"tokens must be a mapping of token -> OpsToken, got {type(tokens).__name__}")
            if not tokens:
                raise ValueError("tokens must not be empty (pass None to serve without tokens)")
        self._entries: list[tuple[bytes, Principal]] = []
        for token, grant in (tokens or {}).items():
            if (
                not isinstance(token, str)
                or not token
                or any(c.isspace() or not c.isprintable() for c in token)
            ):
                raise ValueError(
                    "tokens: each token must be a non-empty str without whitespace or control characters"
                )
            if not isinstance(grant, OpsToken):
                raise TypeError(f"tokens: each grant must be an OpsToken, got {grant!r}")
            self._entries.append((_digest(token), Principal(grant.name or identity_of(token), grant.admin)))
        self.open = tokens is None
        # session id -> principal; an OrderedDict so the oldest is forgotten first past MAX_SESSIONS.
        self._sessions: collections.OrderedDict[str, Principal] = collections.OrderedDict()

    def authenticate(self, token: str) -> Principal | None:
        """The principal of ``token``, or None. Every entry is compared in constant time, whichever matches."""
        if self.open:
            return Principal(OPEN_IDENTITY, admin=True)
        digest = _digest(token)
        found: Principal | None = None
        for known, principal in self._entries:
            if hmac.compare_digest(digest, known):
                found = principal
        return found

    def login(self, principal: Principal) -> Principal:
        """A new session for ``principal``: the returned one carries its session id and CSRF token."""
        session = Principal(
            principal.name, principal.admin, session=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32)
        )
        assert session.session is not None
        self._sessions[session.session] = session
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session

    def session(self, session_id: str) -> Principal | None:
        """The principal of a session cookie's value, or None (unknown, forgotten or logged out)."""
        if not session_id or len(session_id) > 128:
            return None
        return self._sessions.get(session_id)

    def logout(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    @staticmethod
    def csrf_ok(principal: Principal, presented: str | None) -> bool:
        """Whether ``presented`` is the CSRF token of ``principal``'s session (constant time)."""
        if principal.csrf is None or presented is None:
            return False
        return hmac.compare_digest(principal.csrf.encode(), presented.encode("utf-8", "surrogatepass"))
