"""The public faces: what `jido` and `dsl` export, and that `jido` never imports `dsl`."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import dsl
import jido


@pytest.mark.parametrize("module", [jido, dsl], ids=["jido", "dsl"])
class TestExports:
    def test_all_names_exist(self, module: types.ModuleType) -> None:
        """Every name in __all__ is an attribute of the package."""
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert missing == []

    def test_no_duplicates(self, module: types.ModuleType) -> None:
        """__all__ lists each name once (ruff's RUF022 keeps it sorted)."""
        assert len(set(module.__all__)) == len(module.__all__)

    def test_public_attributes_are_listed(self, module: types.ModuleType) -> None:
        """Every public attribute that is not a submodule is in __all__."""
        public = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and not isinstance(value, types.ModuleType)
        }
        assert public - set(module.__all__) == set()


def test_jido_does_not_import_dsl() -> None:
    """Importing jido (everything in it) leaves dsl unimported."""
    code = (
        "import sys, pkgutil, importlib, jido\n"
        "for m in pkgutil.walk_packages(jido.__path__, 'jido.'):\n"
        "    importlib.import_module(m.name)\n"
        "assert not any(n == 'dsl' or n.startswith('dsl.') for n in sys.modules), 'dsl was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
