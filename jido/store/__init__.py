"""Agent state stores: where agents' committed state outlives the process (memory, SQLite).

A store keeps each agent's state as the runtime's JSON text with a revision, and writes batches atomically,
with compare-and-set; see :mod:`jido.store.store` for the protocol and its promises.
"""

from jido.errors import StaleStateError as StaleStateError
from jido.store.memory import MemoryStateStore as MemoryStateStore
from jido.store.sqlite import SQLiteStateStore as SQLiteStateStore
from jido.store.sqlite import open_sqlite_state_store as open_sqlite_state_store
from jido.store.store import StateStore as StateStore
from jido.store.store import StateStoreStatistics as StateStoreStatistics
from jido.store.store import StateWrite as StateWrite
from jido.store.store import StoredState as StoredState
from jido.store.store import Wakeup as Wakeup
from jido.store.store import WakeupIndex as WakeupIndex

__all__ = [
    "MemoryStateStore",
    "SQLiteStateStore",
    "StaleStateError",
    "StateStore",
    "StateStoreStatistics",
    "StateWrite",
    "StoredState",
    "Wakeup",
    "WakeupIndex",
    "open_sqlite_state_store",
]
