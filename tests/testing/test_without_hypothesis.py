"""Installed without Hypothesis (``pip install jido pytest``), jido's pytest plugin loads and stays out of the way.

Each test runs pytest in a subprocess where importing Hypothesis fails as it does when it is not installed.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

from jido.testing._needs_hypothesis import INSTALL_HINT

RUNNER = '''
import sys


class WithoutHypothesis:
    """As if Hypothesis were not installed: importing it fails as a missing module does."""

    def find_spec(self, name, path=None, target=None):
        if name == "hypothesis" or name.startswith("hypothesis."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, WithoutHypothesis())
import pytest

# Hypothesis's own plugin is not there either when it is not installed.
sys.exit(pytest.main(["-p", "no:hypothesispytest", "-p", "no:randomly", "-p", "no:cacheprovider", *sys.argv[1:]]))
'''


def run_pytest(tmp_path: pathlib.Path, test_code: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "run_pytest.py").write_text(RUNNER)
    (tmp_path / "test_user.py").write_text(textwrap.dedent(test_code))
    return subprocess.run(
        [sys.executable, "run_pytest.py", "-q", "--rootdir", str(tmp_path), "test_user.py", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class TestWithoutHypothesis:
    def test_unrelated_tests_pass(self, tmp_path: pathlib.Path) -> None:
        """A test suite that has nothing to do with jido runs as if jido were not installed."""
        run = run_pytest(tmp_path, "def test_one():\n    assert 1 + 1 == 2\n")
        assert run.returncode == 0, run.stdout + run.stderr
        assert "1 passed" in run.stdout

    def test_plugin_import_leaves_hypothesis_alone(self) -> None:
        """Loading the plugin imports neither Hypothesis nor the modules built on it."""
        code = (
            "import sys, jido.testing.plugin\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] == 'hypothesis' or m in "
            "('jido.testing.strategies', 'jido.testing.stateful', 'jido.testing.invariants')]\n"
            "assert not heavy, heavy\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)

    def test_fixtures_work(self, tmp_path: pathlib.Path) -> None:
        """The runtime fixtures need pytest-trio, not Hypothesis."""
        code = """
            import pytest

            @pytest.mark.trio
            async def test_runtime(jido_runtime, jido_faults, signal_recorder):
                assert jido_runtime.agents() == []
        """
        run = run_pytest(tmp_path, code)
        assert run.returncode == 0, run.stdout + run.stderr

    def test_a_hypothesis_helper_says_what_to_install(self, tmp_path: pathlib.Path) -> None:
        """Importing check_invariant, RuntimeStateMachine or the strategies fails with the install line."""
        code = f"""
            import pytest

            @pytest.mark.parametrize("name", ["check_invariant", "RuntimeStateMachine", "InvariantViolation"])
            def test_name(name):
                import jido.testing
                with pytest.raises(ModuleNotFoundError) as caught:
                    getattr(jido.testing, name)
                assert str(caught.value) == {INSTALL_HINT!r}

            def test_strategies():
                with pytest.raises(ModuleNotFoundError) as caught:
                    from jido.testing import strategies
                assert str(caught.value) == {INSTALL_HINT!r}
        """
        run = run_pytest(tmp_path, code)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "4 passed" in run.stdout
