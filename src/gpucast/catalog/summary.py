"""Catalog summaries as plain rows: what `gpucast models|gpus --json` print and `/api/v1/models|gpus` return.

One function per catalog so the CLI and the REST API cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from ..core.params import count_parameters
from .loader import load_gpus, load_models, load_prices


def model_rows() -> list[dict[str, Any]]:
    """Every catalog model: parameter counts (computed), shape, attention kind, experts, context and source."""
    rows = []
    for spec in load_models().values():
        params = count_parameters(spec)
        rows.append(
            {
                "id": spec.id,
                "name": spec.name,
                "params_b": round(params.total / 1e9, 2),
                "active_params_b": round(params.active / 1e9, 2),
                "layers": spec.num_layers,
                "hidden": spec.hidden_size,
                "heads": spec.num_heads,
                "kv_heads": spec.num_kv_heads,
                "attention": "MLA" if spec.is_mla else ("GQA" if spec.num_kv_heads < spec.num_heads else "MHA"),
                "experts": f"{spec.experts_per_token}/{spec.num_experts}" if spec.is_moe else "",
                "moe": spec.is_moe,
                "mla": spec.is_mla,
                "max_context": spec.max_context,
                "aliases": list(spec.aliases),
                "source": spec.source,
            }
        )
    return rows


def gpu_rows() -> list[dict[str, Any]]:
    """Every catalog GPU: memory, bandwidth, dense TFLOPs per precision, interconnect and the clouds pricing it."""
    clouds: dict[str, set[str]] = {}
    for price in load_prices():
        clouds.setdefault(price.gpu_id, set()).add(price.cloud)
    return [
        {
            "id": g.id,
            "name": g.name,
            "memory_gib": g.memory_gib,
            "bandwidth_tb_s": g.memory_bandwidth_tb_s,
            "dense_tflops": g.dense_tflops,
            "interconnect": g.interconnect,
            "interconnect_gb_s": g.interconnect_bandwidth_gb_s,
            "gpus_per_node": g.gpus_per_node,
            "clouds": sorted(clouds.get(g.id, ())),
            "source": g.source,
        }
        for g in load_gpus().values()
    ]
