"""Inputs and percentiles sweep (2026-12-07, sixteenth session): each test failed before its fix
(docs/reliability.md, "Inputs and percentiles sweep")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpucast.catalog import loader
from gpucast.errors import ConfigError

_MIXTRAL = {
    "architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "hidden_size": 4096, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336, "num_local_experts": 8,
    "num_experts_per_tok": 2, "vocab_size": 32000, "max_position_embeddings": 32768,
}  # fmt: skip


def _config(tmp_path: Path, encoding: str = "utf-8", **changes: object) -> Path:
    cfg = {key: value for key, value in {**_MIXTRAL, **changes}.items() if value is not None}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg), encoding=encoding)
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"num_experts_per_tok": 16}, "num_experts_per_tok must be between 1 and the 8 routed experts, got 16"),
        ({"num_local_experts": 1}, "between 1 and the 1 routed experts, got 2"),  # a TypeError traceback before
        ({"num_experts_per_tok": None}, "got None"),  # planned with no routed expert per token before
        ({"num_experts_per_tok": 0}, "got 0"),
        ({"num_key_value_heads": 64}, "num_key_value_heads 64 must divide num_attention_heads 32"),
        ({"num_key_value_heads": 5}, "num_key_value_heads 5 must divide"),
    ],
)
def test_inconsistent_hf_config_groups_are_one_config_error(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        loader.read_hf_config(_config(tmp_path, **changes))


def test_hf_config_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    spec = loader.read_hf_config(_config(tmp_path, encoding="utf-8-sig"))
    assert (spec.num_experts, spec.experts_per_token) == (8, 2)
