"""The ``jido`` command works without the redis extra: only ``--cluster`` and ``jido cluster`` need it."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

# coredis made unimportable, as in an install without the redis extra.
_WITHOUT_COREDIS = textwrap.dedent(
    """
    import sys
    sys.modules["coredis"] = None
    from click.testing import CliRunner
    from jido.cli import cli
    result = CliRunner().invoke(cli, sys.argv[1:])
    print(result.output, end="")
    sys.exit(result.exit_code)
    """
)


def _jido(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_COREDIS, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_loads_and_lists_cluster() -> None:
    done = _jido("--help")
    assert done.returncode == 0, done.stderr
    assert "cluster" in done.stdout and "serve" in done.stdout


def test_cluster_command_says_what_to_install() -> None:
    done = _jido("cluster", "redis://127.0.0.1:1/0")
    assert done.returncode == 2
    assert "pip install 'jido[redis]'" in done.stdout


def test_serve_with_cluster_says_what_to_install(tmp_path: pathlib.Path) -> None:
    config = tmp_path / "jido.toml"
    config.write_text("port = 0\n[dashboard]\nenabled = false\n")
    done = _jido("serve", "--config", str(config), "--cluster", "redis://127.0.0.1:1/0")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "pip install 'jido[redis]'" in done.stdout
