"""The package version (its own module, so that modules below ``jido/__init__`` can read it)."""

__version__ = "0.1.0.dev0"
