"""Every vLLM and SGLang command gpucast exports parses with the engine release's own command-line interface.

Installing vLLM or SGLang to import their parsers needs torch, CUDA libraries and compiled extensions (several GB,
and the pinned dependencies do not resolve on a CPU-only runner), so the flags of each release are vendored in
tests/data/engine_cli/<engine>-<version>.json, written by scripts/engine_cli_flags.py from the release's wheel
(its argument-parser source, read with ``ast``). This test rebuilds an argparse parser from each list -- flag
names, whether a flag takes a value, and its choices where the source states them -- and parses the commands:
a misspelled or removed flag, a switch given a value or a value outside the choices fails.
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import load_script
from golden.golden_files import INFERENCE, load
from gpucast.export.engine_args import LaunchOptions, launch_for
from gpucast.export.k8s import serving_manifests
from gpucast.export.k8s_pods import K8sOptions

DATA = Path(__file__).resolve().parent / "data" / "engine_cli"
RELEASES = [("vllm", "0.34.0"), ("vllm", "0.10.2"), ("sglang", "0.5.23"), ("sglang", "0.5.9")]


def parser_for(engine: str, version: str) -> argparse.ArgumentParser:
    spec = json.loads((DATA / f"{engine}-{version}.json").read_text(encoding="utf-8"))
    assert spec["engine"] == engine and spec["version"] == version
    parser = argparse.ArgumentParser(prog=f"{engine}-{version}", add_help=False, allow_abbrev=False,
                                     exit_on_error=False)  # fmt: skip
    if engine == "vllm":
        parser.add_argument("model_tag")  # `vllm serve MODEL`
    for flag, kind in spec["flags"].items():
        if not flag.startswith("--"):
            continue
        if kind["value"] == "none":
            parser.add_argument(flag, dest=flag, action="store_true")
        else:
            parser.add_argument(flag, dest=flag, nargs="?" if kind["value"] == "optional" else None,
                                choices=kind["choices"])  # fmt: skip
    return parser


def check_argv(argv: list[str], command: tuple[str, ...], engine: str, version: str) -> None:
    """Parse argv (without the command words) with the release's parser; fail on anything it would reject."""
    assert tuple(argv[: len(command)]) == command
    namespace, unknown = parser_for(engine, version).parse_known_args(argv[len(command) :])
    assert not unknown, f"{engine} {version} has no flag(s) {unknown}"
    assert namespace is not None


def _launches(plan: dict[str, Any], engine: str, version: str) -> list[Any]:
    """The unified command, and each pool's for disaggregated plans, and with an EAGLE head for speculative ones."""
    out = [launch_for(plan, engine, LaunchOptions(version=version))]
    if plan.get("disaggregation"):
        out += [launch_for(plan, engine, LaunchOptions(version=version, role=r)) for r in ("prefill", "decode")]
    if plan.get("speculative"):
        out.append(launch_for(plan, engine, LaunchOptions(version=version, speculative_model="org/eagle3-head")))
    return out


@pytest.mark.parametrize(("engine", "version"), RELEASES)
@pytest.mark.parametrize("name", INFERENCE)
def test_exported_commands_parse(name: str, engine: str, version: str) -> None:
    for launch in _launches(load(name), engine, version):
        assert launch.engine.version == version
        check_argv(launch.argv, launch.engine.command, engine, version)


@pytest.mark.parametrize(("engine", "version"), RELEASES)
@pytest.mark.parametrize(("ep", "dp"), [(8, 1), (8, 8), (1, 8)])
def test_moe_commands_parse(engine: str, version: str, ep: int, dp: int) -> None:
    plan = load("h200-deepseek-v3-fp8-mtp")
    plan["gpu_resources"] |= {"expert_parallel": ep, "attention_data_parallel": dp}
    for launch in _launches(plan, engine, version):
        check_argv(launch.argv, launch.engine.command, engine, version)


@pytest.mark.parametrize(("engine", "version"), RELEASES)
@pytest.mark.parametrize("name", ["h100-llama-3.1-405b-tp8pp2", "h100-disagg-llama-3.1-8b"])
def test_pod_commands_parse(name: str, engine: str, version: str) -> None:
    """The commands inside the manifests: LeaderWorkerSet leader and worker ranks, prefill and decode pools."""
    documents, _ = serving_manifests(load(name), K8sOptions(engine=engine, launch=LaunchOptions(version=version)))
    containers = []
    for document in documents:
        spec = document.get("spec", {})
        templates = [spec.get("template")] + [spec.get("leaderWorkerTemplate", {}).get(k)
                                              for k in ("leaderTemplate", "workerTemplate")]  # fmt: skip
        containers += [c for t in templates if t for c in t["spec"]["containers"] if c["name"] == "engine"]
    assert containers
    for container in containers:
        if container["command"][0] == "/bin/sh":  # vLLM 0.10.2 over Ray: the engine command is in the script
            script = container["args"][0]
            if "vllm serve" not in script:
                continue
            import shlex

            argv = shlex.split(script.split("&& ", 1)[1])
            check_argv(argv, ("vllm", "serve"), engine, version)
        else:
            check_argv(container["command"] + container["args"], tuple(container["command"]), engine, version)


def test_checker_rejects_what_the_engine_would() -> None:
    with pytest.raises(AssertionError, match="has no flag"):
        check_argv(["vllm", "serve", "m", "--gpu-cache-usage", "1"], ("vllm", "serve"), "vllm", "0.34.0")
    with pytest.raises(argparse.ArgumentError):  # a value outside the release's choices
        check_argv(["python3", "-m", "sglang.launch_server", "--speculative-algorithm", "MTP"],
                   ("python3", "-m", "sglang.launch_server"), "sglang", "0.5.9")  # fmt: skip
    with pytest.raises(AssertionError, match="has no flag"):  # --attn-dp-size is newer than 0.5.9
        check_argv(["python3", "-m", "sglang.launch_server", "--attn-dp-size", "8"],
                   ("python3", "-m", "sglang.launch_server"), "sglang", "0.5.9")  # fmt: skip
    with pytest.raises(AssertionError, match="has no flag"):  # --nnodes is newer than vLLM 0.10.2
        check_argv(["vllm", "serve", "m", "--nnodes", "2"], ("vllm", "serve"), "vllm", "0.10.2")


def _generator() -> Any:
    path = Path(__file__).resolve().parents[1] / "scripts" / "engine_cli_flags.py"
    return load_script(path, "engine_cli_flags")


def test_generator_reads_both_parser_styles(tmp_path: Path) -> None:
    """The generator on miniature sources in each engine's style (the vendored lists come from the real wheels)."""
    vllm = tmp_path / "vllm-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(vllm, "w") as archive:
        archive.writestr("vllm/config/cache.py", "from typing import Literal\nCacheDType = Literal['auto', 'fp8']\n"
                         "class CacheConfig:\n    enable_prefix_caching: bool = True\n    cache_dtype: CacheDType = 'auto'\n"
                         "    block_size: int = 16\n")  # fmt: skip
        archive.writestr("vllm/engine/arg_utils.py", "cache_kwargs = get_kwargs(CacheConfig)\n"
                         "g.add_argument('--enable-prefix-caching', **{**cache_kwargs['enable_prefix_caching']})\n"
                         "g.add_argument('--kv-cache-dtype', **cache_kwargs['cache_dtype'])\n"
                         "g.add_argument('--block-size', **cache_kwargs['block_size'])\n"
                         "p.add_argument('--headless', action='store_true')\n")  # fmt: skip
    flags = _generator().flags_of("vllm", vllm)
    assert flags["--enable-prefix-caching"]["value"] == "none" and "--no-enable-prefix-caching" in flags
    assert flags["--kv-cache-dtype"] == {"value": "required", "choices": ["auto", "fp8"]}
    assert flags["--block-size"]["value"] == "required" and flags["--headless"]["value"] == "none"
    sglang = tmp_path / "sglang-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(sglang, "w") as archive:
        archive.writestr("sglang/srt/arg_groups/fields/parallel.py", "class Parallel:\n"
                         "    tp_size: A[int, Arg(help='tp', aliases=['--tensor-parallel-size'])] = 1\n"
                         "    enable_x: A[bool, 'switch'] = False\n"
                         "    hidden: A[bool, Arg(no_cli=True)] = False\n"
                         "    mode: A[Literal['a', 'b'], 'mode'] = 'a'\n")  # fmt: skip
    flags = _generator().flags_of("sglang", sglang)
    assert set(flags) == {"--tp-size", "--tensor-parallel-size", "--enable-x", "--mode"}
    assert flags["--enable-x"]["value"] == "none" and flags["--mode"]["choices"] == ["a", "b"]


@settings(max_examples=40, deadline=None)
@given(
    tp=st.sampled_from([1, 2, 4, 8]),
    pp=st.sampled_from([1, 2]),
    ep_on=st.booleans(),
    dp_share=st.sampled_from([1, 2, 4, 8]),
    release=st.sampled_from(RELEASES),
)
def test_any_layout_parses_and_places_every_gpu(tp: int, pp: int, ep_on: bool, dp_share: int,
                                                release: tuple[str, str]) -> None:  # fmt: skip
    """Invariant: for any TP/PP/EP/DP-attention layout, the command parses with the release's parser, and the pods of
    one replica (one pod, or a LeaderWorkerSet group over 8-GPU nodes) request exactly TP x PP GPUs."""
    engine, version = release
    dp = min(dp_share, tp)
    plan = load("h200-deepseek-v3-fp8")
    plan["gpu_resources"] |= {"tensor_parallel": tp, "pipeline_parallel": pp, "expert_parallel": tp if ep_on else 1,
                              "attention_data_parallel": dp}  # fmt: skip
    launch = launch_for(plan, engine, LaunchOptions(version=version))
    check_argv(launch.argv, launch.engine.command, engine, version)
    documents, _ = serving_manifests(plan, K8sOptions(engine=engine, launch=LaunchOptions(version=version)))
    workload = next(d for d in documents if d["kind"] in ("Deployment", "LeaderWorkerSet"))
    if workload["kind"] == "Deployment":
        pods = [workload["spec"]["template"]]
    else:
        group = workload["spec"]["leaderWorkerTemplate"]
        pods = [group["leaderTemplate"]] + [group["workerTemplate"]] * (group["size"] - 1)
    gpus = sum(p["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] for p in pods)
    assert gpus == tp * pp and all(
        p["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] <= 8 for p in pods
    )
