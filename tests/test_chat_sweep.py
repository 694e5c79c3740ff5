"""Conversations of the 2026-12-07 conversation sweep (docs/reliability.md, seventeenth session), each planned as the
CLI plans the same numbers: a startup's budget, European number formats, a refused value left out and restated, a
LoRA fine-tune on a stated GPU count, a comparison over clouds for one GPU, "my 4090" and a stream speed said per user.
Each message was misread or partly dropped before."""

from __future__ import annotations

import json

from test_chat_session import chat, cli_json

SECTIONS = ("gpu_resources", "throughput", "scaling", "cost")


def _plan(tmp_path, *answers: str) -> tuple[dict, str]:
    out = tmp_path / "plan.json"
    result = chat(stdin="\n".join([*answers, f"json {out}", "done"]) + "\n")
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text()), result.stdout


def test_a_startups_budget_is_compared_with_the_plan_the_cli_makes(tmp_path):
    message = ("we are a startup with a budget of about $8k/month, serve llama 3.1 8b on H100 on aws for our chatbot, "
               "50k users each sending 10 messages a day, peaks at 2x, 1k tokens in and 300 out, p99 under 2 seconds")  # fmt: skip
    plan, text = _plan(tmp_path, message, "yes")
    cli = cli_json("inference", "--model", "llama-3.1-8b", "--gpu", "H100", "--cloud", "aws", "--rps",
                   str(50_000 * 10 / 86_400), "--input-tokens", "1000", "--output-tokens", "300", "--ttft-slo-ms",
                   "2000", "--peak-multiplier", "2")  # fmt: skip
    for section in SECTIONS:
        assert plan[section] == cli[section], section
    assert "Budget:    $8,000 a month" in text
    cost = cli["cost"]["monthly_gpu_cost"]
    verdict = "within your $8,000 a month" if cost <= 8000 else "over your $8,000 a month"
    assert f"Budget: the plan's ${cost:,.0f} a month at peak size is {verdict}" in text.replace("\n    ", " ")


def test_european_thousands_are_asked_back_and_planned_as_thousands(tmp_path):
    message = ("serve llama 3.1 8b on H100 on aws, 1.000 requests per minute, peaks at 1.5x, 2.500 tokens in and 300 "
               "out, p95 under 800 ms")  # fmt: skip
    plan, text = _plan(tmp_path, message, "yes", "yes")
    assert "I read '1.000' as 1,000 (thousands grouped with a dot)" in text
    cli = cli_json("inference", "--model", "llama-3.1-8b", "--gpu", "H100", "--cloud", "aws", "--rps",
                   str(1000 / 60), "--input-tokens", "2500", "--output-tokens", "300", "--ttft-slo-ms", "800",
                   "--slo-percentile", "95", "--peak-multiplier", "1.5")  # fmt: skip
    for section in SECTIONS:
        assert plan[section] == cli[section], section


def test_a_refused_tp_is_left_out_said_and_planned_once_restated(tmp_path):
    message = "serve qwen3 32b on H100 on aws, TP 0, 5 rps, peaks at 1.5x, 1k tokens in and 300 out, p99 under 2 s"
    plan, text = _plan(tmp_path, message, "tp 2", "yes")
    assert "0 is not usable for tensor parallelism (--tp): it takes a power of two from 1 to 256" in text
    assert "Got it: tensor parallel 2" in text
    cli = cli_json("inference", "--model", "qwen3-32b", "--gpu", "H100", "--cloud", "aws", "--rps", "5",
                   "--input-tokens", "1000", "--output-tokens", "300", "--ttft-slo-ms", "2000", "--tp", "2")  # fmt: skip
    for section in SECTIONS:
        assert plan[section] == cli[section], section


def test_a_script_that_never_restates_a_refused_value_makes_no_plan():
    result = chat(stdin="serve qwen3 32b on H100 on aws, TP 0, 5 rps, peaks at 1.5x, 1k tokens in and 300 out\n")
    assert result.returncode == 2
    assert "Left out:  0 is not usable for tensor parallelism" in result.stdout
    assert "no plan made" in result.stderr and "Traceback" not in result.stderr


def test_a_qlora_fine_tune_on_two_gpus_is_the_cli_training_plan(tmp_path):
    message = ("fine-tune llama 3.1 8b with qlora on 2 A100s on aws, 120k conversations, averaging 1500 tokens, "
               "2 epochs, batch size 64")  # fmt: skip
    plan, text = _plan(tmp_path, message, "yes")
    assert "180,000,000 tokens x 2 epochs, 1,500-token examples, on 2 GPUs" in text
    cli = cli_json("training", "--model", "llama-3.1-8b", "--gpu", "A100", "--cloud", "aws", "--method", "qlora",
                   "--dataset-size", "180000000", "--sequence-length", "1500", "--epochs", "2",
                   "--global-batch-size", "64", "--num-gpus", "2")  # fmt: skip
    for section in ("gpu_resources", "parallelism", "training_metrics", "cost"):
        assert plan[section] == cli[section], section


def test_which_cloud_is_cheapest_for_one_gpu_compares_that_gpu(tmp_path):
    message = "which cloud is cheapest for H100s to serve qwen 2.5 72b, 20 rps, 1k tokens in and 300 out, p99 under 2 s"
    rows, text = _plan(tmp_path, message, "", "", "yes")
    assert "GPUs H100-SXM" in text  # the named GPU is --gpus (one named GPU was dropped: every GPU was ranked)
    cli = cli_json("compare", "--model", "qwen2.5-72b", "--gpus", "H100", "--clouds", "all", "--rps", "20",
                   "--input-tokens", "1000", "--output-tokens", "300", "--ttft-slo-ms", "2000")  # fmt: skip
    key = ("gpu_type", "cloud", "total_gpus", "monthly_cost")
    assert [[row[k] for k in key] for row in rows] == [[row[k] for k in key] for row in cli[: len(rows)]]
    assert {row["gpu_type"] for row in rows} == {"H100-SXM"} and len({row["cloud"] for row in rows}) > 1


def test_my_4090_and_a_per_user_stream_speed(tmp_path):
    message = ("can I run llama 3.1 8b on my 4090? about 2 rps, 1k tokens in and 300 out, p99 ttft 1 s, each user "
               "should see at least 25 tok/s")  # fmt: skip
    plan, text = _plan(tmp_path, message, "", "yes")
    assert "GPU GeForce RTX 4090" in text and "a new token every 40 ms" in text
    cli = cli_json("inference", "--model", "llama-3.1-8b", "--gpu", "rtx-4090", "--cloud", "aws", "--rps", "2",
                   "--input-tokens", "1000", "--output-tokens", "300", "--ttft-slo-ms", "1000", "--itl-slo-ms",
                   "40")  # fmt: skip
    for section in ("gpu_resources", "throughput", "scaling"):
        assert plan[section] == cli[section], section


def test_a_quoted_history_path_keeps_its_spaces_and_brackets_are_not_part_of_a_path():
    from gpucast.chat.parse import extract

    assert extract("forecast next 6 weeks using 'prod traffic.csv'")["history"] == "prod traffic.csv"
    assert extract("our request rates (data/prod.csv), next quarter")["history"] == "data/prod.csv"


def test_a_budget_below_the_plan_says_by_how_much_and_what_fits():
    from gpucast.chat.budget import serving_budget_line
    from gpucast.chat.compute import cheaper_options, plan_inference

    answers = {"intent": "inference", "model": "llama-3.1-8b", "gpu": "h100-sxm", "cloud": "aws", "rps": 10.0,
               "input_tokens": 1000, "output_tokens": 300, "budget_usd": 6000.0, "budget_period": "month"}  # fmt: skip
    outcome = plan_inference(answers)
    options = cheaper_options(answers, outcome)
    line = serving_budget_line(answers, outcome.plan, options)
    cost = outcome.plan.cost.monthly_gpu_cost
    assert cost > 6000 and f"is over your $6,000 a month by ${cost - 6000:,.0f}" in line
    fits = [
        label for label, other in options if other.cost.monthly_gpu_cost <= 6000 and other.throughput.meets_latency_sla
    ]
    assert (fits[0].capitalize() + " fits it") in line if fits else "No cheaper option I computed fits it" in line


def test_an_sres_layout_floor_and_headroom_are_the_cli_flags(tmp_path):
    message = ("serve qwen3 30b a3b on H100 on aws with tp 2 and ep 2, 95% of requests first token under 1 s, 20 rps, "
               "peaks at 2x, 1k tokens in and 300 out, at least 3 replicas, 30% headroom")  # fmt: skip
    plan, text = _plan(tmp_path, message, "yes")
    assert "TP=2, EP=2, at least 3 replicas, headroom 30%" in text and "(p95)" in text
    cli = cli_json("inference", "--model", "qwen3-30b-a3b", "--gpu", "H100", "--cloud", "aws", "--rps", "20",
                   "--input-tokens", "1000", "--output-tokens", "300", "--ttft-slo-ms", "1000", "--slo-percentile",
                   "95", "--peak-multiplier", "2", "--tp", "2", "--ep", "2", "--min-replicas", "3",
                   "--safety-margin", "0.3")  # fmt: skip
    for section in SECTIONS:
        assert plan[section] == cli[section], section


def test_a_chatbots_system_prompt_is_part_of_its_prompt_not_an_agent(tmp_path):
    message = ("serve llama 3.1 8b on H100 on aws, 2 rps, peaks at 1.5x, each prompt includes a 4k system prompt + 500 "
               "token question, 300 tokens out, p99 under 2 s")  # fmt: skip
    plan, text = _plan(tmp_path, message, "yes", "yes")
    assert "I read 4,000 + 500 = 4,500 tokens in" in text and "agent" not in text.split("Computing the plan")[0]
    cli = cli_json("inference", "--model", "llama-3.1-8b", "--gpu", "H100", "--cloud", "aws", "--rps", "2",
                   "--input-tokens", "4500", "--output-tokens", "300", "--ttft-slo-ms", "2000")  # fmt: skip
    for section in SECTIONS:
        assert plan[section] == cli[section], section
    assert plan.get("agent") is None
