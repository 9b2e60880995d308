"""Every ``python`` code block in docs/ and the README runs: the blocks of one page share a namespace, in order.

Every ``console`` block runs too, as a terminal session in a fresh folder (see :class:`Session`): the commands
after ``$ `` (``jido``, ``python``, ``cd``; a trailing ``&`` runs one in the background), each one's output
checked against the lines under it.
"""

from __future__ import annotations

import json
import os
import pathlib
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

import pytest

DOCS = pathlib.Path(__file__).parent.parent / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
CONSOLE = re.compile(r"^```console\n(.*?)^```", re.DOTALL | re.MULTILINE)
PAGES = [DOCS.parent / "README.md", *sorted(p for p in DOCS.glob("*.md") if BLOCK.search(p.read_text()))]
SESSION_PAGES = sorted(p for p in DOCS.glob("*.md") if CONSOLE.search(p.read_text()))

# The ports the pages show (the defaults); a session's gateway and dashboard listen on free ports, shown as these.
SHOWN_PORT = 8765
SHOWN_DASHBOARD_PORT = 8766
# Bounds on a session's steps, so that a hung command fails the test instead of hanging the suite.
COMMAND_TIMEOUT = 120.0
READY_TIMEOUT = 60.0
LISTENING = re.compile(r"gateway listening on ws://127\.0\.0\.1:(\d+)/")
DASHBOARD = re.compile(r"dashboard on http://127\.0\.0\.1:(\d+)/")


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_blocks_run(page: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each python block of the page runs without error, after the blocks before it."""
    text = page.read_text()
    namespace: dict[str, object] = {"__name__": f"docs.{page.stem}"}
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 2
        code = compile("\n" * (line - 1) + match.group(1), str(page), "exec")
        exec(code, namespace)
    capsys.readouterr()


def expected_pattern(lines: list[str]) -> re.Pattern[str]:
    """The output a page shows, as a pattern: a line ``...`` stands for any lines, ``...`` in a line for any text."""
    parts: list[str] = []
    for line in lines:
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(r"[^\n]*".join(re.escape(piece) for piece in line.split("...")) + r"\n")
    return re.compile("".join(parts))


def shown(output: str) -> str:
    """Output as a page shows it: trailing spaces and blank lines dropped, each line ending in a newline."""
    lines = [line.rstrip() for line in output.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "".join(f"{line}\n" for line in lines)


class Session:
    """A terminal session of a page, in a folder of its own.

    ``jido ...`` runs as ``python -m jido ...`` and ``python`` as this interpreter. A ``jido run`` in the
    background is given ``--port 0`` (free ports for the gateway and the dashboard, shown as the defaults the
    page shows, 8765 and 8766) and the commands after it talk to it (``JIDO_URL``). After a ``jido send``, the session waits (bounded) until every bus subscription has
    caught up, as a person typing the next command would have: the next step's output does not race the
    delivery. At the end, background commands get Ctrl-C and must stop cleanly.
    """

    def __init__(self, folder: pathlib.Path, where: str) -> None:
        self.cwd = folder
        self.where = where
        self.env = dict(os.environ)
        self.env.pop("JIDO_URL", None)
        self.env.pop("JIDO_TOKEN", None)
        self.port: int | None = None
        self.dashboard_port: int | None = None
        self.background: list[tuple[subprocess.Popen[str], queue.Queue[str | None]]] = []

    def argv(self, words: list[str]) -> list[str]:
        if words[0] == "jido":
            return [sys.executable, "-m", "jido", *words[1:]]
        if words[0] == "python":
            return [sys.executable, *words[1:]]
        pytest.fail(f"{self.where}: the session runs jido, python and cd, not {words[0]!r}")

    def check(self, command: str, output: str, expected: list[str]) -> None:
        if self.port is not None:
            output = output.replace(f"ws://127.0.0.1:{self.port}/", f"ws://127.0.0.1:{SHOWN_PORT}/")
        if self.dashboard_port is not None:
            output = output.replace(
                f"http://127.0.0.1:{self.dashboard_port}/", f"http://127.0.0.1:{SHOWN_DASHBOARD_PORT}/"
            )
        actual = shown(output)
        if not expected_pattern(expected).fullmatch(actual):
            pytest.fail(
                f"{self.where}: `$ {command}` printed:\n{actual}\nthe page shows:\n" + "\n".join(expected),
                pytrace=False,
            )

    def run(self, command: str, expected: list[str]) -> None:
        words = shlex.split(command)
        if words[0] == "cd":
            self.cwd = self.cwd / words[1]
            assert self.cwd.is_dir(), f"{self.where}: no folder {words[1]!r}"
            self.check(command, "", expected)
        elif words[-1] == "&":
            self.start(command, words[:-1], expected)
        else:
            done = subprocess.run(
                self.argv(words),
                cwd=self.cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
            if done.returncode != 0:
                pytest.fail(
                    f"{self.where}: `$ {command}` exited {done.returncode}:\n{done.stdout}{done.stderr}",
                    pytrace=False,
                )
            self.check(command, done.stdout, expected)
            if words[:2] == ["jido", "send"]:
                self.wait_delivered()

    def start(self, command: str, words: list[str], expected: list[str]) -> None:
        assert words[:2] == ["jido", "run"], f"{self.where}: only `jido run` runs in the background"
        process = subprocess.Popen(
            [*self.argv(words), "--port", "0"],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:  # a thread, so that waiting for a line can be bounded
            assert process.stdout is not None
            for line in process.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        self.background.append((process, lines))
        output = ""
        while "press Ctrl-C to stop" not in output:
            try:
                line = lines.get(timeout=READY_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"{self.where}: `$ {command}` did not start:\n{output}", pytrace=False)
            if line is None:
                pytest.fail(f"{self.where}: `$ {command}` exited:\n{output}", pytrace=False)
            output += line
            if listening := LISTENING.search(line):
                self.port = int(listening.group(1))
                self.env["JIDO_URL"] = f"ws://127.0.0.1:{self.port}/"
            if dashboard := DASHBOARD.search(line):
                self.dashboard_port = int(dashboard.group(1))
        self.check(command, output, expected)

    def wait_delivered(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            done = subprocess.run(
                self.argv(["jido", "inspect", "--json"]),
                cwd=self.cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=True,
            )
            report = json.loads(done.stdout)
            if not any(report["bus"]["subscription_lag"].values()) and not any(
                agent["mailbox_depth"] for agent in report["agents"]
            ):
                return
        pytest.fail(f"{self.where}: the published signal was not delivered", pytrace=False)

    def close(self) -> None:
        for process, lines in self.background:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            output = []
            while (line := lines.get(timeout=READY_TIMEOUT)) is not None:
                output.append(line)
            assert process.stdout is not None
            process.stdout.close()
            assert process.returncode == 0, (
                f"{self.where}: a background command did not stop cleanly on Ctrl-C "
                f"(exit {process.returncode}):\n{''.join(output)}"
            )


def console_steps(block: str, first_line: int) -> list[tuple[int, str, list[str]]]:
    """``(line, command, output lines)`` for each ``$ command`` of a console block starting at ``first_line``."""
    steps: list[tuple[int, str, list[str]]] = []
    for number, line in enumerate(block.splitlines(), start=first_line):
        if line.startswith("$ "):
            steps.append((number, line[2:], []))
        else:
            assert steps, f"line {number}: output before any command: {line!r}"
            steps[-1][2].append(line)
    return steps


@pytest.mark.parametrize("page", SESSION_PAGES, ids=[p.name for p in SESSION_PAGES])
def test_console_sessions_run(page: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """Each console block of the page runs as a terminal session, and prints what the page shows."""
    text = page.read_text()
    for index, match in enumerate(CONSOLE.finditer(text)):
        folder = tmp_path / f"session{index}"
        folder.mkdir()
        session = Session(folder, page.name)
        try:
            for number, command, expected in console_steps(
                match.group(1), text.count("\n", 0, match.start()) + 2
            ):
                session.where = f"{page.name}:{number}"
                session.run(command, expected)
        finally:
            session.close()
