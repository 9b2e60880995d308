"""The public face of jido.testing: what it exports, and that it stays independent of dsl."""

from __future__ import annotations

import subprocess
import sys
import types

import jido.testing
from jido.testing import strategies


class TestExports:
    def test_all_names_exist(self) -> None:
        """Every name in __all__ is an attribute of the package."""
        assert [name for name in jido.testing.__all__ if not hasattr(jido.testing, name)] == []

    def test_no_duplicates(self) -> None:
        """__all__ lists each name once."""
        assert len(set(jido.testing.__all__)) == len(jido.testing.__all__)

    def test_public_attributes_are_listed(self) -> None:
        """Every public attribute that is not a submodule is in __all__."""
        public = {
            name
            for name, value in vars(jido.testing).items()
            if not name.startswith("_") and not isinstance(value, types.ModuleType)
        }
        assert public - set(jido.testing.__all__) == set()

    def test_strategies_module_lists_its_strategies(self) -> None:
        """jido.testing.strategies exports what it defines, and nothing that is missing."""
        assert [name for name in strategies.__all__ if not hasattr(strategies, name)] == []
        assert {"signals", "from_schema", "instructions", "fault_plans"} <= set(strategies.__all__)


def test_testing_does_not_import_dsl() -> None:
    """Importing every module of jido.testing leaves dsl unimported."""
    code = (
        "import sys, pkgutil, importlib, jido.testing\n"
        "for m in pkgutil.walk_packages(jido.testing.__path__, 'jido.testing.'):\n"
        "    importlib.import_module(m.name)\n"
        "assert not any(n == 'dsl' or n.startswith('dsl.') for n in sys.modules), 'dsl was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_names_are_imported_on_first_use() -> None:
    """Importing jido.testing imports none of its modules; a name or public submodule imports its own."""
    code = (
        "import sys, jido.testing\n"
        "loaded = lambda: {m for m in sys.modules if m.startswith('jido.testing.')}\n"
        "assert loaded() == set(), loaded()\n"
        "assert jido.testing.FaultPlan.__module__.startswith('jido.testing.faults')\n"
        "assert 'jido.testing.invariants' not in sys.modules\n"
        "assert jido.testing.strategies.signals is not None\n"
        "assert sorted(set(dir(jido.testing)) & set(jido.testing.__all__)) == sorted(jido.testing.__all__)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
