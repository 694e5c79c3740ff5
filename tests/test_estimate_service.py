"""`estimate` / `training-estimate` take `--service` only to file a saved result under it: without `--save` it is
refused, not ignored (a service that did not exist passed unnoticed)."""

from __future__ import annotations

import pytest

from gpucast.cli.main import main


@pytest.mark.parametrize("command", ["estimate", "training-estimate"])
def test_estimate_service_without_save_is_refused_not_ignored(command, capsys):
    """`estimate --service nope` ran as if --service were not given (it only files a saved result)."""
    flags = {"estimate": ["--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "1", "--input-tokens", "100",
                          "--output-tokens", "10", "--max-throughput"],
             "training-estimate": ["--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "8", "--seq-len", "2048",
                                   "--micro-batch", "1"]}[command]  # fmt: skip
    assert main([command, *flags, "--service", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--service 'nope' files a saved {command} under a service" in err, err
