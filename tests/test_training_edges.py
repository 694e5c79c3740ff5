"""Edge inputs of the training planner and estimator (the 2026-12-06 store and training sweep): each test is a
bad or impossible input that once got a misleading answer, a traceback or a silently misread value."""

from __future__ import annotations

import pytest

from gpucast.errors import InputError
from gpucast.training.estimate import TrainingEstimateRequest, estimate_training


def _estimate(**pins):
    return estimate_training(
        TrainingEstimateRequest(model="llama-3.1-8b", gpu="H100", seq_len=4096, micro_batch=1, **pins)
    )


@pytest.mark.parametrize(
    ("pins", "match"),
    [
        ({"num_gpus": 7, "tp": 2}, r"TP x PP = 2 does not divide --num-gpus 7"),  # was: "global batch ... 7 GPUs"
        ({"num_gpus": 8, "tp": 3}, r"TP x PP = 3 does not divide --num-gpus 8"),
        ({"num_gpus": 6, "tp": 3}, r"--tp 3 does not divide Llama-3.1-8B's 32 attention heads"),  # was: a plan
    ],
)
def test_training_estimate_checks_the_gpu_count_and_heads_as_training_does(pins, match):
    with pytest.raises(InputError, match=match):
        _estimate(**pins)
