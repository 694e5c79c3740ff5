"""The conversation on a real terminal: tmux runs ``gpucast chat`` in a pseudo-terminal, the test
types with send-keys and reads the screen with capture-pane (inference flow, ``back``, a wrong
answer, the final plan, and Ctrl-D)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from conftest import gpucast_exe

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")


class Terminal:
    """One tmux server on a private socket, one window running a command."""

    def __init__(self, command: str) -> None:
        self.socket = f"gpucast-test-{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if k != "GPUCAST_LLM_URL"}
        env["TERM"] = "xterm-256color"
        shell = f"{command}; echo EXIT=$?; sleep 60"
        self.tmux("new-session", "-d", "-s", "chat", "-x", "160", "-y", "50", "sh", "-c", shell, env=env)

    def tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30,
                                env=env)  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-t", "chat", "-S", "-5000")

    def wait_for(self, text: str, timeout: float = 60.0, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(text) >= count:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} (x{count}) did not appear:\n{self.screen()}")

    def type(self, line: str) -> None:
        self.tmux("send-keys", "-t", "chat", "-l", line)
        self.tmux("send-keys", "-t", "chat", "Enter")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def _command(*args: str) -> str:
    return " ".join(shlex.quote(part) for part in [*gpucast_exe(), *args])


@pytest.fixture
def terminal() -> Iterator[type[Terminal]]:
    opened: list[Terminal] = []

    def start(command: str) -> Terminal:
        term = Terminal(command)
        opened.append(term)
        return term

    yield start  # type: ignore[misc]
    for term in opened:
        term.close()


def test_full_inference_flow_with_back_and_a_wrong_answer(terminal):
    term = terminal(_command("chat"))
    term.wait_for("What would you like to plan")
    term.type("serve")
    term.wait_for("Which model?")
    term.type("llama 3 70b")
    term.wait_for("Which GPU and cloud?")
    term.type("back")  # undo the model
    term.wait_for("previous answer: model Llama-3-70B")
    term.type("mixtral")
    term.wait_for("Which GPU and cloud?", count=2)
    term.type("H100 on aws")
    term.wait_for("How many requests per second")
    term.type("banana")  # a wrong answer
    term.wait_for("Sorry, I could not use that.")
    term.wait_for("How many requests per second", count=2)
    term.type("1.2k requests per minute")
    term.wait_for("How peaky is the traffic")
    term.type("2 to 3 times")  # a range: asked back before it is used
    term.wait_for("Did you mean: peaks 3x the average?")
    term.type("")  # Enter accepts the reading
    term.wait_for("How long are a typical request")
    term.type("2k in, 500 out")
    term.wait_for("How quickly must the answer start")
    term.type("")  # the default: 2 s
    screen = term.wait_for("Shall I compute the plan?")
    summary = screen[screen.rindex("Here is what I understood") :]
    assert "Mixtral-8x7B" in summary and "Llama-3-70B" not in summary
    assert "H100-SXM on aws" in summary and "20 requests/s on average (1,200/min), peaks 3x = 60" in summary
    assert "2,000 in / 500 out" in summary and "first token within 2 s" in summary
    term.type("yes")
    screen = term.wait_for("What next?")
    assert "LLM INFRASTRUCTURE CAPACITY PLAN" in screen and "Total GPUs" in screen
    assert "H100-SXM" in screen.split("GPU resources")[1] and "What drives the GPU count" in screen
    term.type("done")
    screen = term.wait_for("EXIT=")
    assert "EXIT=0" in screen and "Traceback" not in screen


def test_bare_gpucast_on_a_terminal_starts_the_conversation_and_ctrl_d_quits(terminal):
    term = terminal(_command())
    term.wait_for("What would you like to plan")
    term.type("serve llama 3.1 8b")
    term.wait_for("Which GPU and cloud?")
    term.tmux("send-keys", "-t", "chat", "C-d")
    screen = term.wait_for("EXIT=")
    assert "Bye: no plan computed." in screen and "EXIT=0" in screen and "CAPACITY PLAN" not in screen
