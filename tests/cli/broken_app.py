"""A module that fails while it is imported (for the CLI's import error)."""

raise RuntimeError("this module is broken on purpose")
