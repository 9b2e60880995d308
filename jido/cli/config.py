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

    [gateway]                   # optional; the gateway's limits (defaults shown; see docs/gateway-protocol.md)
    max_connections = 1024      # websocket connections served at once
    max_connection_bytes = 33554432    # what one connection may hold (32 MiB): frames, queue, calls, deliveries
    max_total_bytes = 536870912 # what all connections may hold above 32 KiB each (512 MiB)
    max_subscriptions = 100     # subscriptions per connection
    max_frame_bytes = 1048576   # the largest client frame handled (1 MiB)
    send_queue_bytes = 4194304  # a connection's send queue (4 MiB)
    slow_consumer_timeout = 10.0   # seconds a full send queue may stay full before the client is dropped
    handshake_timeout = 5.0     # seconds a websocket handshake may take

    [cluster]                   # optional; this runtime is a node of a cluster on Redis (jido serve --cluster)
    redis = "redis://127.0.0.1:6379/0"   # or jido serve --cluster URL; no [journal] or [store] beside it
    node = "node-a"             # this node's id, unique in the cluster (default: <hostname>-<pid>)
    namespace = "jido"          # the cluster's key namespace (default "jido")
    resolve = "myapp.agents:resolve"   # module:function giving a virtual agent id's agent class (optional)
    node_ttl = 10.0             # seconds a silent node stays a member (default 10)
    lease_ttl = 10.0            # seconds a dead node's agents wait before they move (default 10)
"""

from __future__ import annotations

import math
import os
import pathlib
import tomllib
import types
import typing
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import attrs

from jido._urls import database_of, redact_url
from jido.convert import structure
from jido.errors import ROOT_PATH, FieldError, ValidationError
from jido.gateway.policy import TOKEN_NAME
from jido.gateway.server import is_loopback
from jido.signal.pattern import parse_pattern

from .errors import CliError
from .loading import Target, load_target

__all__ = [
    "ClusterConfig",
    "DashboardConfig",
    "JournalConfig",
    "ServeConfig",
    "StoreConfig",
    "TokenConfig",
    "is_loopback",
    "load_config",
    "load_serve_config",
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
class GatewayConfig:
    """The ``[gateway]`` table: the gateway's limits, each passed to :func:`jido.gateway.serve_gateway` when
    given (None: its default)."""

    max_connections: int | None = None
    max_connection_bytes: int | None = None
    max_total_bytes: int | None = None
    max_subscriptions: int | None = None
    max_frame_bytes: int | None = None
    send_queue_bytes: int | None = None
    slow_consumer_timeout: float | None = None
    handshake_timeout: float | None = None

    def options(self) -> dict[str, int | float]:
        """The limits given, as keyword arguments of ``serve_gateway``."""
        return {name: value for name, value in attrs.asdict(self).items() if value is not None}


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
class ClusterConfig:
    """The ``[cluster]`` table: the runtime is a node of a cluster on Redis (journal and state there too).

    ``redis`` may be left to ``jido serve --cluster URL``, which overrides it when both are given.
    """

    redis: str | None = None
    node: str | None = None
    namespace: str = "jido"
    resolve: str | None = None
    node_ttl: float = 10.0
    lease_ttl: float = 10.0


_REDIS_SCHEMES: Final = ("redis://", "rediss://", "unix://")


def check_cluster_url(url: str) -> str | None:
    """What is wrong with ``url`` as the cluster's Redis URL, or None.

    Checked without a client: the scheme, the port (a number up to 65535) and the database (a number, in the
    path of a ``redis://`` URL or a ``?db=`` query). Whether the server has that database is known only once
    connected (``open_cluster_runtime`` says so then).
    """
    shown = redact_url(url)
    if not url.lower().startswith(_REDIS_SCHEMES):
        return f"expected a Redis URL (redis://host:port/db, rediss:// or unix://), got {shown!r}"
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return f"expected a Redis URL (redis://host:port/db), got {shown!r}"
    try:
        _ = parts.port  # urllib checks it: a number from 0 to 65535
    except ValueError:
        return f"expected a Redis URL with a port from 0 to 65535 (redis://host:port/db), got {shown!r}"
    try:
        database_of(url)
    except ValueError:
        return f"expected a Redis URL whose database is a number (redis://host:port/0), got {shown!r}"
    return None


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
    gateway: GatewayConfig = GatewayConfig()
    cluster: ClusterConfig | None = None
    # Agents started here hear the published signals their routes accept (unless they declare subscribe=...).
    subscribe_routes: bool = True


_NOT_GIVEN: Final = object()


class _Table:
    """One table of the document, each key structured on its own so that one bad value hides no other problem.

    Type errors are collected into ``errors`` (in the fields' order, then unknown keys, as the converter
    orders them); the checks after structuring read the good values here and skip the bad ones, so a whole
    document's problems come out in one run.
    """

    def __init__(self, data: object, cls: type, path: str, errors: list[FieldError]) -> None:
        self.path = path
        self.bad: set[str] = set()
        self._values: dict[str, Any] = {}
        self._tables: dict[str, list[_Table]] = {}
        self._items: dict[str, list[tuple[str, Any]]] = {}
        self.ok = isinstance(data, Mapping)
        if not isinstance(data, Mapping):
            errors.extend(_problems(data, cls, path))
            return
        hints = typing.get_type_hints(cls)
        for field in attrs.fields(cls):
            name, hint, here = field.name, hints[field.name], f"{path}.{field.name}"
            if name not in data:
                if field.default is attrs.NOTHING:
                    errors.append(FieldError(here, "required field missing"))
                    self.bad.add(name)
                continue
            value = data[name]
            table = _table_type(hint)
            element = _element_type(hint)
            if table is not None and isinstance(value, Mapping):
                self._tables[name] = [_Table(value, table, here, errors)]
            elif element is not None and isinstance(value, list):
                items: list[tuple[str, Any]] = []
                tables: list[_Table] = []
                for index, item in enumerate(value):
                    if attrs.has(element):
                        tables.append(_Table(item, element, f"{here}[{index}]", errors))
                    elif found := _problems(item, element, f"{here}[{index}]"):
                        errors.extend(found)
                        self.bad.add(name)
                    else:
                        items.append((f"{here}[{index}]", structure(item, element)))
                self._items[name], self._tables[name] = items, tables
            elif found := _problems(value, hint, here):
                errors.extend(found)
                self.bad.add(name)
            else:
                self._values[name] = structure(value, hint)
            if any(not t.ok or t.bad for t in self._tables.get(name, ())):
                self.bad.add(name)
        known = {field.name for field in attrs.fields(cls)}
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            errors.append(FieldError(path, f"unknown field(s): {', '.join(unknown)}"))

    def value(self, name: str, default: Any = _NOT_GIVEN) -> Any:
        """The structured value of scalar field ``name``, or ``default`` when it is absent or bad."""
        return self._values.get(name, default)

    def items(self, name: str) -> list[tuple[str, Any]]:
        """The good elements of array field ``name``, each with its ``$.path``."""
        return self._items.get(name, [])

    def tables(self, name: str) -> list[_Table]:
        """The sub-table ``name`` (one) or array of tables ``name`` (each), as given."""
        return self._tables.get(name, [])


def _problems(value: object, tp: Any, path: str) -> list[FieldError]:
    try:
        structure(value, tp)
    except ValidationError as exc:
        return list(exc.prefixed(path).errors)
    return []


def _table_type(hint: Any) -> type | None:
    """``X`` for an attrs class ``X`` or ``X | None``."""
    candidates = [a for a in typing.get_args(hint) if a is not type(None)] if _is_optional(hint) else [hint]
    if len(candidates) == 1 and isinstance(candidates[0], type) and attrs.has(candidates[0]):
        return candidates[0]
    return None


def _is_optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


def _element_type(hint: Any) -> Any:
    """``X`` for ``tuple[X, ...]``."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return None


def _check_patterns(table: _Table, name: str, errors: list[FieldError]) -> None:
    for path, pattern in table.items(name):
        try:
            parse_pattern(pattern)
        except ValidationError as exc:
            errors.extend(FieldError(path, e.message) for e in exc.errors)


def _check_token(entry: _Table, env: Mapping[str, str], errors: list[FieldError]) -> str | None:
    """Check one ``[[tokens]]`` entry; its token value (``token_env`` read), or None when it has none."""
    path = entry.path
    if not entry.ok or {"token", "token_env"} & entry.bad:
        return None
    token: str | None = entry.value("token", None)
    token_env: str | None = entry.value("token_env", None)
    if (token is None) == (token_env is None):
        errors.append(FieldError(path, "give exactly one of token or token_env"))
        return None
    if token is not None:
        if not token:
            errors.append(FieldError(f"{path}.token", "must not be empty"))
        elif not _printable(token):
            errors.append(FieldError(f"{path}.token", "may not contain whitespace or control characters"))
        return token
    assert token_env is not None
    value = env.get(token_env, "")
    if not value:
        errors.append(FieldError(f"{path}.token_env", f"environment variable {token_env!r} is not set"))
    elif not _printable(value):
        errors.append(
            FieldError(
                f"{path}.token_env",
                f"environment variable {token_env!r} holds whitespace or control characters",
            )
        )
    return value


def _printable(token: str) -> bool:
    # The gateway's rule: a bearer token travels in an HTTP header.
    return not any(c.isspace() or not c.isprintable() for c in token)


def _check_gateway(table: _Table, errors: list[FieldError]) -> None:
    """Each limit given is positive (and a time finite); how they fit together the gateway checks at start."""
    for field in attrs.fields(GatewayConfig):
        value = table.value(field.name, None)
        if value is None:
            continue
        if not (0 < value < math.inf):
            kind = "a positive number of seconds" if isinstance(value, float) else "an int >= 1"
            errors.append(FieldError(f"{table.path}.{field.name}", f"expected {kind}, got {value!r}"))


def _check_port(table: _Table, name: str, errors: list[FieldError]) -> None:
    port = table.value(name, None)
    if port is not None and not 0 <= port <= 65535:
        errors.append(FieldError(f"{table.path}.{name}", f"must be between 0 and 65535, got {port}"))


def _check_sqlite(table: _Table, errors: list[FieldError]) -> None:
    if table.value("sqlite", None) == "":
        errors.append(FieldError(f"{table.path}.sqlite", "must not be empty"))


def _check_cluster(table: _Table, errors: list[FieldError]) -> None:
    url = table.value("redis", None)
    if url is not None and (problem := check_cluster_url(url)):
        errors.append(FieldError(f"{table.path}.redis", problem))
    node = table.value("node", None)
    if node is not None and (not node or any(c.isspace() for c in node)):
        errors.append(FieldError(f"{table.path}.node", f"must be non-empty, without spaces, got {node!r}"))
    namespace = table.value("namespace", None)
    if namespace is not None and (not namespace or any(c in namespace for c in "{}: \t\n")):
        errors.append(
            FieldError(
                f"{table.path}.namespace",
                f"must be non-empty, without braces, colons or spaces, got {namespace!r}",
            )
        )
    resolve = table.value("resolve", None)
    if resolve is not None:
        module, colon, function = resolve.partition(":")
        if not (module and colon and function):
            errors.append(FieldError(f"{table.path}.resolve", f"expected 'module:function', got {resolve!r}"))
    for name in ("node_ttl", "lease_ttl"):
        ttl = table.value(name, None)
        if ttl is not None and not 0.001 <= ttl <= 86_400:
            errors.append(
                FieldError(f"{table.path}.{name}", f"must be from 0.001 to 86400 seconds, got {ttl}")
            )


def _check(
    data: object, env: Mapping[str, str], load: Callable[[str], Target] | None
) -> tuple[list[FieldError], list[str], list[Target]]:
    """Every problem of the document: type errors, then the rules over the values that have the right type."""
    errors: list[FieldError] = []
    root = _Table(data, ServeConfig, ROOT_PATH, errors)
    if not root.ok:
        return errors, [], []
    host: str | None = root.value("host", None)
    if host == "":
        errors.append(FieldError("$.host", "must not be empty"))
    _check_port(root, "port", errors)
    targets: list[Target] = []
    for path, ref in root.items("start"):
        module, colon, obj = ref.partition(":")
        if not (module and colon and obj):
            errors.append(FieldError(path, f"expected 'module:object', got {ref!r}"))
        elif load is not None:
            try:
                targets.append(load(ref))
            except CliError as exc:  # what cannot be imported, or is not runnable, with the rest
                errors.append(FieldError(path, exc.message))
    tokens: list[str] = []
    seen: set[str] = set()
    for entry in root.tables("tokens"):
        value = _check_token(entry, env, errors)
        if value:
            if value in seen:
                errors.append(FieldError(entry.path, "the same token is given twice"))
            seen.add(value)
            tokens.append(value)
        name = entry.value("name", None)
        if name is not None and not TOKEN_NAME.match(name):
            errors.append(
                FieldError(f"{entry.path}.name", f"expected 1 to 128 of [A-Za-z0-9_.:@-], got {name!r}")
            )
        _check_patterns(entry, "subscribe", errors)
        _check_patterns(entry, "publish", errors)
    # A token-less server is refused off loopback; tokens given but mistyped are reported above instead.
    no_tokens = "tokens" not in root.bad and not root.tables("tokens")
    if host and no_tokens and not is_loopback(host):
        errors.append(
            FieldError("$.tokens", f"required when host is not a loopback address (host is {host!r})")
        )
    for table in root.tables("journal") + root.tables("store"):
        _check_sqlite(table, errors)
    for cluster in root.tables("cluster"):
        _check_cluster(cluster, errors)
        if cluster.ok and (root.tables("journal") or root.tables("store")):
            errors.append(
                FieldError(
                    "$.cluster",
                    "a cluster keeps its journal and agent state in Redis: remove [journal] and [store]",
                )
            )
    for gateway in root.tables("gateway"):
        _check_gateway(gateway, errors)
    for dashboard in root.tables("dashboard"):
        board_host = dashboard.value("host", None)
        if board_host == "":
            errors.append(FieldError("$.dashboard.host", "must not be empty"))
        elif (
            board_host is not None
            and dashboard.value("enabled", True)
            and "enabled" not in dashboard.bad
            and no_tokens
            and not is_loopback(board_host)
        ):
            errors.append(
                FieldError(
                    "$.tokens",
                    f"required when the dashboard's host is not a loopback address (it is {board_host!r})",
                )
            )
        _check_port(dashboard, "port", errors)
    return errors, tokens, targets


def _resolve(config: ServeConfig, tokens: list[str], base: pathlib.Path) -> ServeConfig:
    journal = config.journal
    if journal is not None:
        journal = attrs.evolve(journal, sqlite=str(base / journal.sqlite))
    store = config.store
    if store is not None:
        store = attrs.evolve(store, sqlite=str(base / store.sqlite))
    elif journal is not None:
        # Durable signals without durable agents would surprise: the state goes in the journal's file.
        store = StoreConfig(sqlite=journal.sqlite, synchronous=journal.synchronous)
    resolved = tuple(
        attrs.evolve(entry, token=value, token_env=None)
        for entry, value in zip(config.tokens, tokens, strict=True)
    )
    return attrs.evolve(config, tokens=resolved, journal=journal, store=store)


def _parse(
    data: object, base: pathlib.Path, env: Mapping[str, str] | None, load: Callable[[str], Target] | None
) -> tuple[ServeConfig, list[Target]]:
    errors, tokens, targets = _check(data, os.environ if env is None else env, load)
    if errors:
        raise ValidationError(errors, subject=SUBJECT)
    return _resolve(structure(data, ServeConfig, subject=SUBJECT), tokens, base), targets


def parse_config(data: object, *, base: pathlib.Path, env: Mapping[str, str] | None = None) -> ServeConfig:
    """Check a decoded config document and resolve it (token values read, the journal path made absolute).

    Every problem is reported at once: values of the wrong type, and the rules over the values of the right
    type (a bad port does not hide a bad token).

    Args:
        data: the decoded TOML document.
        base: the folder relative journal paths are taken from (the config file's).
        env: the environment ``token_env`` names are read from (``os.environ`` by default).

    Raises:
        ValidationError: one ``$.path: message`` line per problem, subject ``"config"``.
    """
    return _parse(data, base, env, None)[0]


def _read(path: pathlib.Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError.at("$", f"invalid TOML: {exc}", subject=SUBJECT) from None
    except RecursionError:  # tomllib reads nested arrays and inline tables recursively
        raise ValidationError.at("$", "invalid TOML: nested too deeply", subject=SUBJECT) from None
    # What tomllib can read (about 490 levels) the strict converter checks and shows without overflowing.


def load_config(path: pathlib.Path, *, env: Mapping[str, str] | None = None) -> ServeConfig:
    """Read and check the config file at ``path``.

    Raises:
        ValidationError: the file is not valid TOML (at ``$``) or breaks a rule (see :func:`parse_config`).
        OSError: the file cannot be read.
    """
    return parse_config(_read(path), base=path.parent, env=env)


def load_serve_config(
    path: pathlib.Path, *, env: Mapping[str, str] | None = None
) -> tuple[ServeConfig, list[Target]]:
    """Read and check the config file at ``path`` and load what its ``start`` names, for ``jido serve``.

    A ``start`` entry that cannot be imported, or is not an agent, supervisor or sensor, is one more
    ``$.start[i]`` problem among the others.

    Raises:
        ValidationError: every problem, as for :func:`load_config`, and those of ``start``'s entries.
        OSError: the file cannot be read.
    """
    return _parse(_read(path), path.parent, env, load_target)
