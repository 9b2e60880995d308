"""Agent state stores: where agents' committed state outlives the process (memory, SQLite)."""
