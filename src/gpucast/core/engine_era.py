"""Engine generations: which kernel generation an engine release runs a model on.

An engine release older than the first one with a kernel generation runs the model on the previous kernels, whose
``calibration.toml`` ``[eras.<name>]`` factors (``core.perf.EngineFactors``) describe them. Split from ``core.perf``:
reading a version label is not roofline arithmetic.
"""

from __future__ import annotations

import re

from ..errors import InputError

# Only generations that published measurements of both sides fix (``scripts/calibrate.py`` fits them) are named here.
EARLY_MLA_MOE = "early-mla-moe"
"""The first DeepSeek-V3/R1 serving stacks (Jan-Mar 2025): MLA attention on Triton kernels (vLLM's TRITON_MLA,
SGLang's Triton decode/extend MLA), block-scaled FP8 GEMMs and fused MoE on Triton kernels (before DeepGEMM and
CUTLASS block-FP8: 1.2-1.5x slower per GEMM alone, sgl-project/sglang#3893) and a per-step host cost that CUDA
graphs did not yet hide (SGLang 0.4.x ran dp-attention without them; TensorRT-LLM's PyTorch backend was a
preview). Applies to MLA + MoE models on engines older than ``EngineSpec.mla_moe_kernels_since``."""

_VERSION = re.compile(r"(?<![\w.])v?(\d+)\.(\d+)(?:\.(\d+))?")
# a number right after one of these words is the platform's version, not the engine's ("vLLM (ROCm 6.2 build)")
_PLATFORM_WORD = re.compile(r"(?:rocm|cuda|torch|pytorch|python|driver)\s*$", re.IGNORECASE)


def parse_engine_version(text: str | None) -> tuple[int, int, int] | None:
    """(major, minor, patch) of the first version number in an engine label ("vLLM 0.7.3.dev138+g21f6ca217 (ROCm
    6.3)" -> (0, 7, 3); "SGLang v0.5.12" -> (0, 5, 12)); None when the label states none (the current engine).
    A platform's version ("vLLM (ROCm 6.2 build)", "CUDA 12.4") is not the engine's and is skipped."""
    label = text or ""
    for match in _VERSION.finditer(label):
        if not _PLATFORM_WORD.search(label, 0, match.start()):
            return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    return None


def check_engine_version(value: object, flag: str = "--engine-version") -> None:
    """A release a user names (``--engine-version``) must state a version number: a label without one ("banana",
    "latest", "") was read as the current engine, silently, while the plan echoed the label back as if it had
    been used. None (not given) is the current engine."""
    if value is None:
        return
    if not isinstance(value, str):  # a Python caller's 0.7: "states no release number" was not the problem
        raise InputError(f'{flag} {value!r} must be a release as a string, such as "0.7.3" or "v0.8.0"')
    if parse_engine_version(value) is None:
        raise InputError(
            f'{flag} {value!r} states no release number; use a release such as "0.7.3" or "v0.8.0", or leave it out '
            "for the current one"  # 'latest' means the default
        )


def engine_era(model_is_mla_moe: bool, version: str | None, kernels_since: str) -> str:
    """The kernel generation an engine ``version`` runs an MLA + MoE model on: ``EARLY_MLA_MOE`` when the version
    predates ``kernels_since`` (the engine's first release with FlashMLA/DeepGEMM-class kernels), else "" (the
    calibrated, current kernels). No version, no threshold, or another architecture: ""."""
    parsed, since = parse_engine_version(version), parse_engine_version(kernels_since)
    if not model_is_mla_moe or parsed is None or since is None:
        return ""
    return EARLY_MLA_MOE if parsed < since else ""
