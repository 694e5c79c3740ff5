"""Known vulnerabilities in the installed dependencies (issue 24, item 4): ``pip-audit`` over this environment.

It needs the vulnerability database (PyPI's JSON API, or OSV) over the network, so the test skips — saying why —
when pip-audit is not installed or the network cannot be reached; ``.ci/run`` installs pip-audit when it can.
Packages that are not on PyPI (gpucast itself, installed from this checkout) are skipped by pip-audit itself.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys

import pytest


def _online(host: str = "pypi.org", port: int = 443) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def test_no_known_vulnerabilities_in_the_installed_dependencies():
    if importlib.util.find_spec("pip_audit") is None:
        pytest.skip("pip-audit is not installed (pip install pip-audit; .ci/run does it when online)")
    if not _online():
        pytest.skip("no network: pip-audit needs the vulnerability database at pypi.org")
    done = subprocess.run([sys.executable, "-m", "pip_audit", "--progress-spinner", "off", "--skip-editable"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
