"""The Dockerfile, checked without a Docker engine (this machine has only the client, so the image itself is not
built here): every file it copies exists and is not excluded by .dockerignore, the extras it installs exist, and its
ENTRYPOINT + CMD with its ENV — the database URL on the /data volume — start a real server here that answers the
image's own HEALTHCHECK command, and the documented `docker run … gpucast user add` works against the same file."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from conftest import free_port, gpucast_exe

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def single(name: str) -> str:
    found = [rest for word, rest in instructions() if word == name]
    assert len(found) == 1, f"{name}: {found}"
    return found[0]


def test_copied_files_exist_and_are_not_ignored():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}
    for word, rest in instructions():
        if word == "COPY":
            *sources, _target = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source not in ignored, f"{source} is copied but excluded by .dockerignore"
    assert "src" not in ignored and "pyproject.toml" not in ignored


def test_installed_extras_exist():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    run = " ".join(rest for word, rest in instructions() if word == "RUN")
    named = re.search(r'pip install "\.\[([^\]]+)\]"', run)
    assert named, run
    for extra in named.group(1).split(","):
        assert extra in extras, f"the Dockerfile installs the missing extra [{extra}]"


def test_entrypoint_and_cmd_serve_the_volume_database_and_pass_the_healthcheck(tmp_path):
    env_line = single("ENV")
    env = dict(re.findall(r"(\w+)=(\S+)", env_line))
    volume = single("VOLUME")
    database = env["GPUCAST_DATABASE_URL"]
    assert volume in database, "the database must live on the volume"
    command = json.loads(single("ENTRYPOINT")) + json.loads(single("CMD"))
    assert command[:2] == ["gpucast", "serve"]
    port = free_port()
    argv = [*gpucast_exe(), *command[1:]]
    argv[argv.index("--port") + 1] = str(port)
    argv[argv.index("--host") + 1] = "127.0.0.1"  # 0.0.0.0 in the container; loopback is enough here
    run_env = os.environ | env | {"GPUCAST_DATABASE_URL": database.replace(volume, str(tmp_path))}
    server = subprocess.Popen(argv, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    health = single("HEALTHCHECK")
    probe = shlex.split(health[health.index("CMD ") + 4 :].replace("8000", str(port)))
    assert probe[0] == "python"
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([sys.executable, *probe[1:]], capture_output=True).returncode != 0:
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
            time.sleep(0.2)
        added = subprocess.run([*gpucast_exe(), "user", "add", "alice", "--role", "approver"], env=run_env,
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        assert added.returncode == 0, added.stderr
    finally:
        server.terminate()
        server.communicate(timeout=15)
    assert (tmp_path / Path(database.split(volume, 1)[1]).name).exists()
