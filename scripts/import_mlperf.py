"""Extract MLPerf Inference v5.x LLM results into data/benchmarks/mlperf/ (issue 21, item 4: validation only).

Reads a local git clone of ``mlcommons/inference_results_v5.1`` (the published results repository): its
``summary_results.json`` (one record per result: submitter, system, accelerator and count, model, scenario,
software, weight data type) and, for every result kept, the result's own
``<Location>/performance/run_1/mlperf_log_summary.txt`` (completed samples/s and tokens/s, TTFT/TPOT percentiles,
the latency constraints the run was held to, VALID or not). Nothing is typed in by hand, so the file can be
rebuilt and checked against the repository at the commit recorded in every row.

Kept: closed division, "available" systems, datacenter suite, one node, the LLM benchmarks whose model is in
gpucast's catalog (llama2-70b-99/-99.9, mixtral-8x7b, llama3.1-8b, llama3.1-405b), on a GPU in gpucast's catalog,
served by an engine gpucast models (TensorRT-LLM: "TensorRT ..." software; vLLM), results the log calls VALID.
MLPerf Inference v4.1 is reserved for an independent check: this script reads only the clone it is given and
refuses a v4.x repository.

    git clone https://github.com/mlcommons/inference_results_v5.1 /tmp/r51
    python scripts/import_mlperf.py /tmp/r51 > data/benchmarks/mlperf/mlperf_inference_v5.1.csv
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

MODELS = {  # MLPerf benchmark -> gpucast catalog model
    "llama2-70b-99": "llama-2-70b",
    "llama2-70b-99.9": "llama-2-70b",
    "mixtral-8x7b": "mixtral-8x7b",
    "llama3.1-8b": "llama-3.1-8b",
    "llama3.1-405b": "llama-3.1-405b",
}
GPUS = (  # accelerator name (summary_results.json) -> gpucast GPU id; first match wins
    ("B200-SXM-180GB", "b200"),
    ("GB200", "gb200"),
    ("H200-SXM-141GB", "h200"),  # "Virtualized NVIDIA H200-SXM-141GB" too: same GPU, under a hypervisor
    ("H100-SXM-80GB", "h100-sxm"),
    ("MI300X", "mi300x"),
    ("MI325X", "mi325x"),
    ("RTX PRO 6000 Blackwell", "rtx-pro-6000-blackwell"),
    ("L40S", "l40s"),
)
COLUMNS = (
    "source", "id", "submitter", "system", "gpu", "num_gpus", "benchmark", "model", "scenario", "precision",
    "engine", "software", "samples_per_s", "tokens_per_s", "target_qps", "ttft_p50_ms", "ttft_p99_ms",
    "tpot_p50_ms", "tpot_p99_ms", "ttft_limit_ms", "tpot_limit_ms", "path", "commit", "as_of",
)  # fmt: skip
FIELDS = {  # mlperf_log_summary.txt line -> column (values in ns are converted to ms)
    "Completed samples per second": "samples_per_s",
    "Samples per second": "samples_per_s",  # Offline
    "Completed tokens per second": "tokens_per_s",
    "Tokens per second": "tokens_per_s",  # Offline
    "target_qps": "target_qps",
    "50.00 percentile first token latency (ns)": "ttft_p50_ms",
    "99.00 percentile first token latency (ns)": "ttft_p99_ms",
    "50.00 percentile time to output token (ns)": "tpot_p50_ms",
    "99.00 percentile time to output token (ns)": "tpot_p99_ms",
    "ttft_latency (ns)": "ttft_limit_ms",
    "tpot_latency (ns)": "tpot_limit_ms",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def gpu_id(accelerator: str) -> str | None:
    return next((gid for name, gid in GPUS if name in accelerator), None)


def engine(software: str) -> str | None:
    """TensorRT-LLM submissions name TensorRT (NVIDIA's harness); vLLM ones name vLLM; others are not modelled."""
    if software.startswith("TensorRT"):
        return "trtllm"
    return "vllm" if software.startswith("vLLM") else None


def parse_summary(text: str) -> dict[str, str]:
    """The columns a result's mlperf_log_summary.txt states (the first occurrence of each line wins)."""
    found: dict[str, str] = {"valid": "VALID" if "Result is : VALID" in text else "INVALID"}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        column = FIELDS.get(key.strip())
        if not sep or column is None or column in found:
            continue
        number = float(value.strip())
        found[column] = f"{number / 1e6:.2f}" if "(ns)" in key else f"{number:g}"
    return found


def rows(repo: Path) -> list[dict[str, str]]:
    commit = git(repo, "rev-parse", "HEAD").strip()
    as_of = git(repo, "log", "-1", "--format=%cs").strip()
    records = json.loads(git(repo, "show", "HEAD:summary_results.json"))
    version = records[0]["version"]  # "v5.1"
    if not re.fullmatch(r"v5\.\d+|v[6-9]\.\d+", version):
        raise SystemExit(f"{version}: only MLPerf Inference v5.0 and later may be used (v4.1 is reserved)")
    out = []
    for rec in records:
        gpu, model, eng = gpu_id(rec["Accelerator"]), MODELS.get(rec["Model"]), engine(rec["Software"])
        keep = (rec["Category"], rec["Availability"], rec["Suite"], rec["Nodes"]) == (
            "closed",
            "available",
            "datacenter",
            1,
        )
        if not (keep and gpu and model and eng):
            continue
        path = f"{rec['Location']}/performance/run_1/mlperf_log_summary.txt"
        try:
            found = parse_summary(git(repo, "show", f"HEAD:{path}"))
        except subprocess.CalledProcessError:
            continue  # no log at the stated location: nothing to record
        if found.pop("valid") != "VALID":
            continue
        if rec["Scenario"] == "Offline":  # the log prints the benchmark's constraints, but Offline is not held to them
            found.pop("ttft_limit_ms", None), found.pop("tpot_limit_ms", None)
        out.append({
            "source": f"mlperf-inference-{version}", "id": rec["ID"], "submitter": rec["Submitter"],
            "system": rec["Platform"], "gpu": gpu, "num_gpus": str(rec["a#"]), "benchmark": rec["Model"],
            "model": model, "scenario": rec["Scenario"], "precision": rec["weight_data_types"].upper(),
            "engine": eng, "software": rec["Software"], **found, "path": path, "commit": commit, "as_of": as_of,
        })  # fmt: skip
    return sorted(out, key=lambda r: (r["benchmark"], r["gpu"], r["scenario"], r["submitter"], r["system"]))


def main() -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
