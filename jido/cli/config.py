"""The ``jido serve`` config file: a small TOML document, checked strictly with ``$.path`` errors.

.. code-block:: toml

    host = "127.0.0.1"          # default; any other address needs at least one token
    port = 8765                 # default; 0 picks a free port
    start = ["myapp.agents:Counter", "myapp.ops:ContentOps"]   # agents, supervisors or sensors

    [journal]                   # optional; in memory when absent
    sqlite = "jido.db"          # relative to the config file's folder
    synchronous = "FULL"        # or "NORMAL"

    [store]                     # agent state that outlives the process; default: the journal's file, if any
    sqlite = "state.db"         # relative to the config file's folder (may be the journal's file)
    synchronous = "FULL"        # or "NORMAL"

    [[tokens]]                  # optional; no tokens = no auth (loopback hosts only)
    token_env = "JIDO_TOKEN"    # read the token from this environment variable (or: token = "...")
    name = "billing"            # its identity: owns its durable subscriptions (default: derived from the token)
    subscribe = ["**"]          # patterns this token may subscribe to (default ["**"])
    publish = ["orders.*"]      # patterns it may publish (default ["**"])
    call = true                 # whether it may call agents (default true)
    admin = false               # whether it may change things from the dashboard (redrive, discard, restart)

    [dashboard]                 # optional; the dashboard, /metrics, /healthz, /readyz (needs jido[ops])
    enabled = true              # default true
    host = "127.0.0.1"          # default; any other address needs at least one token
    port = 8766                 # default: the gateway's port + 1 (0 when the gateway's port is 0)
"""

from __future__ import annotations

import os
import pathlib
import tomllib
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from jido.convert import structure
from jido.errors import FieldError, ValidationError
from jido.gateway.policy import TOKEN_NAME
from jido.gateway.server import is_loopback
from jido.signal.pattern import parse_pattern

__all__ = [
    "DashboardConfig",
    "JournalConfig",
    "ServeConfig",
    "StoreConfig",
    "TokenConfig",
    "is_loopback",
    "load_config",
    "parse_config",
]

SUBJECT = "config"


@attrs.frozen
class TokenConfig:
    """One ``[[tokens]]`` entry: the token (inline or from an environment variable) and what it may do."""

    token: str | None = None
    token_env: str | None = None
    name: str | None = None
    subscribe: tuple[str, ...] = ("**",)
    publish: tuple[str, ...] = ("**",)
    call: bool = True
    admin: bool = False


@attrs.frozen
class DashboardConfig:
    """The ``[dashboard]`` table: whether to serve the operations surface, and where.

    ``port`` None means the gateway's port + 1 (0, a free port, when the gateway's port is 0).
    """

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int | None = None

    def port_for(self, gateway_port: int) -> int:
        if self.port is not None:
            return self.port
        return 0 if gateway_port == 0 else (gateway_port + 1 if gateway_port < 65535 else 0)


@attrs.frozen
class JournalConfig:
    """The ``[journal]`` table: a SQLite file."""

    sqlite: str
    synchronous: Literal["NORMAL", "FULL"] = "FULL"


@attrs.frozen
class StoreConfig:
    """The ``[store]`` table: agents' state in a SQLite file (by default the journal's, when it is SQLite)."""

    sqlite: str
    synchronous: Literal["NORMAL", "FULL"] = "FULL"


@attrs.frozen
class ServeConfig:
    """A whole config file, checked. ``tokens`` holds resolved token values (``token_env`` read)."""

    host: str = "127.0.0.1"
    port: int = 8765
    start: tuple[str, ...] = ()
    tokens: tuple[TokenConfig, ...] = ()
    journal: JournalConfig | None = None
    store: StoreConfig | None = None
    dashboard: DashboardConfig = DashboardConfig()
    # Agents started here hear the published signals their routes accept (unless they declare subscribe=...).
    subscribe_routes: bool = True


def _check_patterns(patterns: tuple[str, ...], path: str, errors: list[FieldError]) -> None:
    for index, pattern in enumerate(patterns):
        try:
            parse_pattern(pattern)
        except ValidationError as exc:
            errors.extend(FieldError(f"{path}[{index}]", e.message) for e in exc.errors)


def _resolve_token(entry: TokenConfig, path: str, env: Mapping[str, str], errors: list[FieldError]) -> str:
    if (entry.token is None) == (entry.token_env is None):
        errors.append(FieldError(path, "give exactly one of token or token_env"))
        return ""
    if entry.token is not None:
        if not entry.token:
            errors.append(FieldError(f"{path}.token", "must not be empty"))
        elif not _printable(entry.token):
            errors.append(FieldError(f"{path}.token", "may not contain whitespace or control characters"))
        return entry.token
    assert entry.token_env is not None
    value = env.get(entry.token_env, "")
    if not value:
        errors.append(FieldError(f"{path}.token_env", f"environment variable {entry.token_env!r} is not set"))
    elif not _printable(value):
        errors.append(
            FieldError(
                f"{path}.token_env",
                f"environment variable {entry.token_env!r} holds whitespace or control characters",
            )
        )
    return value


def _printable(token: str) -> bool:
    # The gateway's rule: a bearer token travels in an HTTP header.
    return not any(c.isspace() or not c.isprintable() for c in token)


def parse_config(data: object, *, base: pathlib.Path, env: Mapping[str, str] | None = None) -> ServeConfig:
    """Check a decoded config document and resolve it (token values read, the journal path made absolute).

    Args:
        data: the decoded TOML document.
        base: the folder relative journal paths are taken from (the config file's).
        env: the environment ``token_env`` names are read from (``os.environ`` by default).

    Raises:
        ValidationError: one ``$.path: message`` line per problem, subject ``"config"``.
    """
    config = structure(data, ServeConfig, subject=SUBJECT)
    env = os.environ if env is None else env
    errors: list[FieldError] = []
    if not config.host:
        errors.append(FieldError("$.host", "must not be empty"))
    if not 0 <= config.port <= 65535:
        errors.append(FieldError("$.port", f"must be between 0 and 65535, got {config.port}"))
    for index, ref in enumerate(config.start):
        module, colon, obj = ref.partition(":")
        if not (module and colon and obj):
            errors.append(FieldError(f"$.start[{index}]", f"expected 'module:object', got {ref!r}"))
    tokens: list[TokenConfig] = []
    seen: set[str] = set()
    for index, entry in enumerate(config.tokens):
        path = f"$.tokens[{index}]"
        value = _resolve_token(entry, path, env, errors)
        if value and value in seen:
            errors.append(FieldError(path, "the same token is given twice"))
        seen.add(value)
        if entry.name is not None and not TOKEN_NAME.match(entry.name):
            errors.append(
                FieldError(f"{path}.name", f"expected 1 to 128 of [A-Za-z0-9_.:@-], got {entry.name!r}")
            )
        _check_patterns(entry.subscribe, f"{path}.subscribe", errors)
        _check_patterns(entry.publish, f"{path}.publish", errors)
        tokens.append(attrs.evolve(entry, token=value, token_env=None))
    if config.host and not config.tokens and not is_loopback(config.host):
        errors.append(
            FieldError("$.tokens", f"required when host is not a loopback address (host is {config.host!r})")
        )
    dashboard = config.dashboard
    if not dashboard.host:
        errors.append(FieldError("$.dashboard.host", "must not be empty"))
    elif dashboard.enabled and not config.tokens and not is_loopback(dashboard.host):
        errors.append(
            FieldError(
                "$.tokens",
                f"required when the dashboard's host is not a loopback address (it is {dashboard.host!r})",
            )
        )
    if dashboard.port is not None and not 0 <= dashboard.port <= 65535:
        errors.append(FieldError("$.dashboard.port", f"must be between 0 and 65535, got {dashboard.port}"))
    journal = config.journal
    if journal is not None:
        if not journal.sqlite:
            errors.append(FieldError("$.journal.sqlite", "must not be empty"))
        else:
            journal = attrs.evolve(journal, sqlite=str(base / journal.sqlite))
    store = config.store
    if store is not None:
        if not store.sqlite:
            errors.append(FieldError("$.store.sqlite", "must not be empty"))
        else:
            store = attrs.evolve(store, sqlite=str(base / store.sqlite))
    elif journal is not None and journal.sqlite:
        # Durable signals without durable agents would surprise: the state goes in the journal's file.
        store = StoreConfig(sqlite=journal.sqlite, synchronous=journal.synchronous)
    if errors:
        raise ValidationError(errors, subject=SUBJECT)
    return attrs.evolve(config, tokens=tuple(tokens), journal=journal, store=store)


def load_config(path: pathlib.Path, *, env: Mapping[str, str] | None = None) -> ServeConfig:
    """Read and check the config file at ``path``.

    Raises:
        ValidationError: the file is not valid TOML (at ``$``) or breaks a rule (see :func:`parse_config`).
        OSError: the file cannot be read.
    """
    text = path.read_text(encoding="utf-8")
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError.at("$", f"invalid TOML: {exc}", subject=SUBJECT) from None
    except RecursionError:  # tomllib reads nested arrays and inline tables recursively
        raise ValidationError.at("$", "invalid TOML: nested too deeply", subject=SUBJECT) from None
    # What tomllib can read (about 490 levels) the strict converter checks and shows without overflowing.
    return parse_config(data, base=path.parent, env=env)
