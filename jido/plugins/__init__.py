"""Plugins that ship with jido, ready to mount into any agent (see :mod:`jido.agent.plugin`).

* :data:`Thread`: a conversation thread, an append-only log of messages with a bound;
* :data:`Memory`: a key-value memory whose TTLs run on the runtime's clock;
* :data:`Audit`: an audit trail of handled signals (type, id, outcome) with a bound.

Each is a :class:`~jido.agent.plugin.PluginSpec` with its default config; ``.configure(...)`` gives another,
``.mounted_as(key)`` mounts it under another state key.
"""

from jido.plugins.audit import Audit as Audit
from jido.plugins.audit import AuditConfig as AuditConfig
from jido.plugins.audit import AuditEntry as AuditEntry
from jido.plugins.audit import AuditState as AuditState
from jido.plugins.memory import Memory as Memory
from jido.plugins.memory import MemoryConfig as MemoryConfig
from jido.plugins.memory import MemoryEntry as MemoryEntry
from jido.plugins.memory import MemoryState as MemoryState
from jido.plugins.thread import Message as Message
from jido.plugins.thread import Thread as Thread
from jido.plugins.thread import ThreadConfig as ThreadConfig
from jido.plugins.thread import ThreadState as ThreadState

__all__ = [
    "Audit",
    "AuditConfig",
    "AuditEntry",
    "AuditState",
    "Memory",
    "MemoryConfig",
    "MemoryEntry",
    "MemoryState",
    "Message",
    "Thread",
    "ThreadConfig",
    "ThreadState",
]
