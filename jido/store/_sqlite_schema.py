"""The SQLite state store's file format: opening a file, checking it is ours, creating the schema, reading rows.

Schema (version 2) in a table named by the store (``jido_agent_state`` by default) and its own meta table::

    <table>(agent_id TEXT PRIMARY KEY, revision INTEGER, updated_at INTEGER, data TEXT, wake_at INTEGER)
    <table>_wake ON <table>(wake_at, agent_id) WHERE wake_at IS NOT NULL
    <table>_meta(key TEXT PRIMARY KEY, value INTEGER)          schema_version, revision_floor

``data`` comes before ``wake_at`` only because version 1 had no ``wake_at`` (a version 1 file is upgraded in
place by adding the column, the index and the floor); ``wake_at`` is read through its index, never from the
row, so neither reading a revision nor listing wakeups touches the overflow pages of a large state.
``revision_floor`` is the highest revision ever deleted: a new row starts above it, so an agent's revisions
never repeat across a delete.
Times are integer microseconds since the Unix epoch (UTC). ``PRAGMA application_id`` marks the file as jido's,
as the journal does: the store may share the journal's file (the tables do not collide, and each keeps its own
schema version), but refuses any other database.

Hostile files are refused before anything is written: the checks run on a plain read of the file, and only
then does the store switch it to WAL mode and take the write lock (where it checks again, in case another
process got there first) to create its tables.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Final, Literal

from jido.errors import BrokenError
from jido.store.store import StoredState

SCHEMA_VERSION: Final = 2
APPLICATION_ID: Final = 0x4A49444F  # "JIDO", the journal's mark too
JOURNAL_TABLES: Final = ("meta", "records", "checkpoints", "dead_letters")
"""The tables of :mod:`jido.bus.sqlite`, which a store table must not take (with or without ``_meta``)."""

COLUMNS_V1: Final = ("agent_id", "revision", "updated_at", "data")
COLUMNS: Final = (*COLUMNS_V1, "wake_at")

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND: Final = dt.timedelta(microseconds=1)


def to_us(moment: dt.datetime) -> int:
    """``moment`` as integer microseconds since the epoch."""
    return (moment - _EPOCH) // _MICROSECOND


def from_us(microseconds: int) -> dt.datetime:
    """The UTC datetime ``microseconds`` after the epoch."""
    return _EPOCH + dt.timedelta(microseconds=microseconds)


def connect(path: str, *, synchronous: Literal["NORMAL", "FULL"], table: str) -> sqlite3.Connection:
    """Open ``path``, check that it is ours (or empty), create our tables if need be, and return the
    connection in WAL mode, outside any transaction.

    Raises:
        BrokenError: the file cannot be opened, is not a database, is another application's, holds a
            table of ours that is not ours, or has another schema version. Nothing was written to it.
    """
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise BrokenError(f"state store {path!r} cannot be opened: {exc}") from exc
    try:
        try:
            missing = inspect(conn, path, table)
            # Only now that the file is known to be ours (or empty) may anything be written to it.
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise BrokenError(f"state store {path!r} cannot use WAL mode (journal_mode is {mode!r})")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            if missing:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    missing = inspect(conn, path, table)  # again, under the write lock
                    if missing == "create":
                        create(conn, table)
                    elif missing == "upgrade":
                        upgrade(conn, table)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise BrokenError(f"state store {path!r} cannot be opened: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def inspect(conn: sqlite3.Connection, path: str, table: str) -> Literal["create", "upgrade", ""]:
    """What ``path`` needs: ``"create"`` our tables (it is empty, or jido's without them), ``"upgrade"`` them
    from version 1, or nothing (``""``); raise if it is not ours. Reads only.

    Raises:
        BrokenError: see :func:`connect`.
    """
    try:
        application_id = conn.execute("PRAGMA application_id").fetchone()[0]
        objects = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise BrokenError(f"{path!r} is not a jido state store: {exc}") from exc
    if application_id == 0 and objects:
        raise BrokenError(
            f"{path!r} is not a jido state store: it holds other tables ({', '.join(sorted(objects))})"
        )
    if application_id not in (0, APPLICATION_ID):
        raise BrokenError(f"{path!r} is not a jido state store: its application_id is {application_id:#x}")
    meta = f"{table}_meta"
    if table not in objects and meta not in objects:
        return "create"
    if table not in objects or meta not in objects:
        have, lack = (table, meta) if table in objects else (meta, table)
        raise BrokenError(f"state store {path!r} is corrupt: it has table {have!r} but not {lack!r}")
    columns = tuple(row[1] for row in conn.execute(f'PRAGMA table_info("{table}")'))
    rows = conn.execute(f"SELECT value FROM \"{meta}\" WHERE key = 'schema_version'").fetchall()
    version = rows[0][0] if rows else None
    expected = COLUMNS_V1 if version == 1 else COLUMNS
    if columns != expected:
        raise BrokenError(
            f"{path!r} is not a jido state store: its table {table!r} has columns {columns!r},"
            f" not {expected!r}"
        )
    if version not in (1, SCHEMA_VERSION) or type(version) is not int:
        raise BrokenError(
            f"state store {path!r} has schema version {version!r}; this jido reads versions 1 to {SCHEMA_VERSION}"
        )
    return "upgrade" if version == 1 else ""


def create(conn: sqlite3.Connection, table: str) -> None:
    """Create our tables (inside the caller's transaction) and mark the file as jido's."""
    conn.execute(
        f'CREATE TABLE "{table}" (agent_id TEXT PRIMARY KEY NOT NULL, revision INTEGER NOT NULL,'
        " updated_at INTEGER NOT NULL, data TEXT NOT NULL, wake_at INTEGER)"
    )
    conn.execute(f'CREATE TABLE "{table}_meta" (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID')
    conn.execute(f"INSERT INTO \"{table}_meta\" (key, value) VALUES ('schema_version', {SCHEMA_VERSION})")
    _add_version_2(conn, table)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def upgrade(conn: sqlite3.Connection, table: str) -> None:
    """Take version 1 tables to version 2 (inside the caller's transaction): the states are kept as they are."""
    conn.execute(f'ALTER TABLE "{table}" ADD COLUMN wake_at INTEGER')
    _add_version_2(conn, table)
    conn.execute(f"UPDATE \"{table}_meta\" SET value = {SCHEMA_VERSION} WHERE key = 'schema_version'")


def _add_version_2(conn: sqlite3.Connection, table: str) -> None:
    conn.execute(f'CREATE INDEX "{table}_wake" ON "{table}" (wake_at, agent_id) WHERE wake_at IS NOT NULL')
    conn.execute(f"INSERT INTO \"{table}_meta\" (key, value) VALUES ('revision_floor', 0)")


def decode(path: str, agent_id: object, revision: object, updated_at: object, data: object) -> StoredState:
    """A row as a :class:`StoredState`, after checking each column holds what we wrote there.

    Raises:
        BrokenError: the row is corrupt; the message names the file and the agent.
    """
    if not isinstance(agent_id, str):
        raise BrokenError(f"state store {path!r}: a row is corrupt: its agent_id is {agent_id!r}")
    problem = None
    if type(revision) is not int or revision < 1:
        problem = f"revision is {revision!r}"
    elif not isinstance(data, str):
        problem = f"data is a {type(data).__name__}, not text"
    elif type(updated_at) is int:
        try:
            return StoredState(agent_id, data, revision, from_us(updated_at))
        except OverflowError:
            problem = f"updated_at is {updated_at!r}"
    else:
        problem = f"updated_at is {updated_at!r}"
    raise BrokenError(f"state store {path!r}: state of agent {agent_id!r} is corrupt: {problem}")
