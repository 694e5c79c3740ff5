"""The conversation's free-form reader: a table of phrasings with the values they must give,
bare answers to each question, and properties (any text: no exception but AnswerError)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucast.chat import names
from gpucast.chat.errors import AnswerError
from gpucast.chat.numbers import digits_for_words, first_number
from gpucast.chat.parse import extract, yes_no
from gpucast.chat.questions import BY_KEY, QUESTIONS, interpret

# (message, values it must contain); rates are requests/s, latencies ms
MESSAGES = [
    ("20 rps", {"rps": 20.0}),
    ("20 RPS", {"rps": 20.0}),
    ("20 qps", {"rps": 20.0}),
    ("20 req/s", {"rps": 20.0}),
    ("20 requests per second", {"rps": 20.0}),
    ("20 requests/s", {"rps": 20.0}),
    ("20 requests a second", {"rps": 20.0}),
    ("1.2k requests per minute", {"rps": 20.0}),
    ("1,200 requests per minute", {"rps": 20.0}),
    ("1200 rpm", {"rps": 20.0}),
    ("about 3 million requests a day", {"rps": pytest.approx(34.722, rel=1e-3)}),
    ("three million requests per day", {"rps": pytest.approx(34.722, rel=1e-3)}),
    ("half a million requests a day", {"rps": pytest.approx(5.787, rel=1e-3)}),
    ("72k requests per hour", {"rps": 20.0}),
    ("36,000 queries an hour", {"rps": 10.0}),
    ("roughly 600 calls per minute", {"rps": 10.0}),
    ("5 messages per second", {"rps": 5.0}),
    ("~50 requests per second", {"rps": 50.0}),
    ("a load of 15 rps", {"rps": 15.0}),
    ("traffic is 40", {"rps": 40.0}),
    ("twenty five requests per second", {"rps": 25.0}),
    ("a thousand requests per minute", {"rps": pytest.approx(16.667, rel=1e-3)}),
    ("2.5M requests per month", {"rps": pytest.approx(0.9506, rel=1e-3)}),
    ("100k requests a week", {"rps": pytest.approx(0.16534, rel=1e-3)}),
    ("peak of 60 rps", {"peak_rps": 60.0}),
    ("50 qps at peak", {"peak_rps": 50.0}),
    ("50 requests per second at peak times", {"peak_rps": 50.0}),
    ("peak 3x", {"peak_multiplier": 3.0}),
    ("peaks at 2.5 times the average", {"peak_multiplier": 2.5}),
    ("3x at peak", {"peak_multiplier": 3.0}),
    ("2k tokens in, 500 out", {"input_tokens": 2000, "output_tokens": 500}),
    ("2k tokens in and 500 out", {"input_tokens": 2000, "output_tokens": 500}),
    ("2000 in / 500 out", {"input_tokens": 2000, "output_tokens": 500}),
    ("2000/500 tokens", {"input_tokens": 2000, "output_tokens": 500}),
    ("1000 input tokens and 200 output tokens", {"input_tokens": 1000, "output_tokens": 200}),
    ("input 1500 tokens, output 300 tokens", {"input_tokens": 1500, "output_tokens": 300}),
    ("prompts of 3000 tokens, answers of about 400 tokens", {"input_tokens": 3000, "output_tokens": 400}),
    ("4k token prompts", {"input_tokens": 4000}),
    ("500 output tokens", {"output_tokens": 500}),
    ("responses of 250 tokens", {"output_tokens": 250}),
    ("it generates 800 tokens", {"output_tokens": 800}),
    ("8k input tokens", {"input_tokens": 8000}),
    ("p99 under 2 seconds", {"ttft_ms": 2000.0}),
    ("p99 under 2s", {"ttft_ms": 2000.0}),
    ("p95 below 800 ms", {"ttft_ms": 800.0}),
    ("latency under 1.5 seconds", {"ttft_ms": 1500.0}),
    ("ttft under 500ms", {"ttft_ms": 500.0}),
    ("time to first token within 300 milliseconds", {"ttft_ms": 300.0}),
    ("first token in under 1 second", {"ttft_ms": 1000.0}),
    ("itl 50 ms", {"itl_ms": 50.0}),
    ("ttft under 500ms and itl 50 ms", {"ttft_ms": 500.0, "itl_ms": 50.0}),
    ("inter-token latency below 40 ms", {"itl_ms": 40.0}),
    ("20 tokens/s per user", {"itl_ms": 50.0}),
    # a label after the time names it: these lost the per-token target (2026-12-07)
    ("first token within 3 seconds at p99, 50ms per token", {"ttft_ms": 3000.0, "itl_ms": 50.0}),
    ("latency of 40 ms per output token", {"itl_ms": 40.0}),
    ("3 s to first token and 30 ms between tokens", {"ttft_ms": 3000.0, "itl_ms": 30.0}),
    ("under 2 seconds for the first token, 25ms/token", {"ttft_ms": 2000.0, "itl_ms": 25.0}),
    ("the whole answer within 20 s, 40 ms per token", {"e2e_ms": 20000.0, "itl_ms": 40.0}),
    ("response in 10 s end-to-end", {"e2e_ms": 10000.0}),
    ("the whole response within 30 seconds", {"e2e_ms": 30000.0}),
    ("end-to-end under 10 s", {"e2e_ms": 10000.0}),
    ("llama 3 70b", {"model": "llama-3-70b"}),
    ("Llama-3-70B", {"model": "llama-3-70b"}),
    ("lamma 3 70b", {"model": "llama-3-70b"}),
    ("llama3 70b", {"model": "llama-3-70b"}),
    ("llama 3.1 8b", {"model": "llama-3.1-8b"}),
    ("Llama-3.1-8B-Instruct", {"model": "llama-3.1-8b"}),
    ("meta-llama/Llama-3.1-70B-Instruct", {"model": "llama-3.1-70b"}),
    ("llama 3.3 70b instruct", {"model": "llama-3.3-70b"}),
    ("llama 4 scout", {"model": "llama-4-scout"}),
    ("mixtral", {"model": "mixtral-8x7b"}),
    ("mixtral 8x22b", {"model": "mixtral-8x22b"}),
    ("mistral 7b", {"model": "mistral-7b"}),
    ("qwen 2.5 72b", {"model": "qwen2.5-72b"}),
    ("Qwen/Qwen2.5-7B-Instruct", {"model": "qwen2.5-7b"}),
    ("quen3 8b", {"model": "qwen3-8b"}),
    ("qwen3 30b a3b", {"model": "qwen3-30b-a3b"}),
    ("deepseek v3", {"model": "deepseek-v3"}),
    ("deepseek-r1", {"model": "deepseek-r1"}),
    ("gemma 2 9b", {"model": "gemma-2-9b"}),
    ("phi 3 mini", {"model": "phi-3-mini"}),
    ("gpt-j", {"model": "gpt-j-6b"}),
    ("a 70b param model", {"model_size": 70.0}),
    ("H100", {"gpu": "h100-sxm"}),
    ("H100s", {"gpu": "h100-sxm"}),
    ("8xH100", {"gpu": "h100-sxm"}),
    ("A100s on GCP", {"gpu": "a100-40gb", "cloud": "gcp"}),
    ("a100 80gb", {"gpu": "a100-80gb-sxm"}),
    ("L40S", {"gpu": "l40s"}),
    ("rtx 4090", {"gpu": "rtx-4090"}),
    ("MI300X on azure", {"gpu": "mi300x", "cloud": "azure"}),
    ("h200 or b200", {"gpus": ["h200", "b200"]}),
    ("on aws", {"cloud": "aws"}),
    ("google cloud", {"cloud": "gcp"}),
    ("aws and gcp", {"clouds": ["aws", "gcp"]}),
    ("fp8", {"precision": "FP8"}),
    ("quantized to 4-bit", {"precision": "INT4"}),
    ("in bf16", {"precision": "BF16"}),
    ("an agent app with 10 LLM calls per request", {"agent": True, "llm_calls": 10.0, "intent": "inference"}),
    ("each request makes 5 LLM calls", {"llm_calls": 5.0}),
    ("an agent, 8 model calls per task", {"llm_calls": 8.0, "agent": True}),
    ("serve a chatbot", {"intent": "inference"}),
    ("deploy a model", {"intent": "inference"}),
    ("I want to fine-tune a model", {"intent": "training"}),
    ("finetune", {"intent": "training"}),
    ("forecast the growth of my service", {"intent": "forecast"}),
    ("compare GPUs for mixtral", {"intent": "compare", "model": "mixtral-8x7b"}),
    ("rank the GPUs for mixtral", {"intent": "compare", "model": "mixtral-8x7b"}),
    # the adapter's rank is not a ranking: this was read as "compare GPUs" (for serving)
    ("fine-tune llama 3.1 8b with lora rank 16", {"intent": "training", "model": "llama-3.1-8b", "method": "lora"}),
    # epochs the planner refuses are read as stated, and interpret refuses them saying what is accepted
    # (tests/test_chat_limits.py): 0 was planned (then refused), 1.5 read as 1, then both dropped unsaid
    ("fine-tune llama 3.1 8b for 0 epochs", {"intent": "training", "epochs": 0}),
    ("1.5 epochs", {"epochs": 1.5}),
    ("fine-tune llama 3.1 8b with lora on 500M tokens for 3 epochs",
     {"intent": "training", "model": "llama-3.1-8b", "method": "lora", "dataset_tokens": 500_000_000, "epochs": 3}),
    ("qlora", {"method": "qlora"}),
    ("full fine-tuning", {"method": "full"}),
    ("a dataset of 2 billion tokens", {"dataset_tokens": 2_000_000_000}),
    ("50k examples of 2k tokens", {"dataset_tokens": 100_000_000, "seq_len": 2000}),
    ("sequence length 4096", {"seq_len": 4096}),
    ("batch size 128", {"global_batch": 128}),
    ("forecast from traffic.csv for the next 2 weeks", {"history": "traffic.csv", "horizon": "14d"}),
    ("over the next 3 months", {"horizon": "90d"}),
    ("for the next 48 hours", {"horizon": "48h"}),
    ("serve llama 3 70b on H100s on aws, about 1.2k requests per minute, 2k tokens in and 500 out, p99 under 2 seconds",
     {"intent": "inference", "model": "llama-3-70b", "gpu": "h100-sxm", "cloud": "aws", "rps": 20.0,
      "input_tokens": 2000, "output_tokens": 500, "ttft_ms": 2000.0}),
    ("mixtral on A100s on gcp, 5 rps, 1000 in 200 out",
     {"model": "mixtral-8x7b", "gpu": "a100-40gb", "cloud": "gcp", "rps": 5.0, "input_tokens": 1000,
      "output_tokens": 200}),
]  # fmt: skip

# agent apps: the task shape (tasks/s, calls per task, shared prefix, growth per call, think time, prefix caching)
AGENT_MESSAGES = [
    ("an agent doing 2 tasks per second, 10 calls per task, 4k system prompt, each call adds 800 tokens, 300 tokens out",
     {"agent": True, "intent": "inference", "rps": 2.0, "llm_calls": 10.0, "shared_prefix_tokens": 4000,
      "context_growth_tokens": 800, "output_tokens": 300, "input_tokens": None, "ttft_ms": None}),
    ("coding agent, 50 tool calls per task", {"agent": True, "intent": "inference", "llm_calls": 50.0}),
    ("120 agent runs per minute", {"agent": True, "rps": 2.0}),
    ("3.6k tasks an hour", {"agent": True, "rps": 1.0}),
    ("peak of 5 tasks per second", {"agent": True, "peak_rps": 5.0, "rps": None}),
    ("each task makes 12 LLM calls", {"agent": True, "llm_calls": 12.0}),
    ("about 20 steps per task", {"agent": True, "llm_calls": 20.0}),
    ("tasks of 6 calls", {"agent": True, "llm_calls": 6.0}),
    ("a 6,000-token system prompt", {"agent": True, "shared_prefix_tokens": 6000, "input_tokens": None}),
    ("system prompt of 2k tokens", {"shared_prefix_tokens": 2000, "input_tokens": None}),
    ("3k system prompt and 2k of tool definitions", {"shared_prefix_tokens": 5000}),
    ("system prompt + tools 7k tokens", {"shared_prefix_tokens": 7000}),
    ("shared prefix 4000", {"shared_prefix_tokens": 4000}),
    ("each turn adds about 1.5k tokens", {"context_growth_tokens": 1500}),
    ("the context grows by 600 tokens per call", {"context_growth_tokens": 600}),
    ("1k tokens of tool results per call", {"context_growth_tokens": 1000, "input_tokens": None}),
    ("tool results of 900 tokens", {"context_growth_tokens": 900}),
    ("500 new tokens per step", {"context_growth_tokens": 500}),
    ("tools take 3 seconds", {"think_time_s": 3.0, "ttft_ms": None}),
    ("2 s between calls", {"think_time_s": 2.0, "ttft_ms": None}),
    ("think time 500 ms", {"think_time_s": 0.5}),
    ("no prefix caching", {"prefix_caching": False, "agent": None}),
    ("prefix caching is off", {"prefix_caching": False}),
    ("without radix cache", {"prefix_caching": False}),
    ("with prefix caching", {"prefix_caching": True}),
    ("each task must finish within 2 minutes", {"task_slo_ms": 120000.0, "e2e_ms": None, "ttft_ms": None}),
    ("serve llama 3.1 70b as an agent: two tasks per second, ten calls per task, 300 tokens out, p99 under 2 s",
     {"model": "llama-3.1-70b", "rps": 2.0, "llm_calls": 10.0, "output_tokens": 300, "ttft_ms": 2000.0}),
]  # fmt: skip

# bare answers to one question: (question key, answer, values)
ANSWERS = [
    ("intent", "serve", {"intent": "inference"}),
    ("intent", "2", {"intent": "training"}),
    ("intent", "compare", {"intent": "compare"}),
    ("intent", "llama 3 70b, 20 rps", {"intent": "inference", "model": "llama-3-70b"}),
    ("intent", "500M tokens for 3 epochs", {"intent": "training", "epochs": 3}),
    ("model", "70b", {"model_size": 70.0}),
    ("model", "mixtrl", {"model": "mixtral-8x7b"}),
    ("model", "llama", {}),
    ("gpu", "any", {"gpu": None}),
    ("gpu", "cheapest on azure", {"gpu": None, "cloud": "azure"}),
    ("gpu", "h100 on gcp", {"gpu": "h100-sxm", "cloud": "gcp"}),
    ("gpu", "gcp", {"gpu": None, "cloud": "gcp"}),
    ("rps", "20", {"rps": 20.0}),
    ("rps", "about 1.2k", {"rps": 1200.0}),
    ("rps", "1.2k per minute", {"rps": 20.0}),
    ("rps", "twelve", {"rps": 12.0}),
    (
        "agent_shape",
        "10, 4000, 800, 300",
        {"llm_calls": 10.0, "shared_prefix_tokens": 4000, "context_growth_tokens": 800, "output_tokens": 300},
    ),
    (
        "agent_shape",
        "10 calls, 4k system prompt, 800 per call, 300 out",
        {"llm_calls": 10.0, "shared_prefix_tokens": 4000, "context_growth_tokens": 800, "output_tokens": 300},
    ),
    ("agent_shape", "12", {"llm_calls": 12.0}),
    ("tokens", "2000 500", {"input_tokens": 2000, "output_tokens": 500}),
    ("tokens", "2k/500", {"input_tokens": 2000, "output_tokens": 500}),
    ("tokens", "3000", {"input_tokens": 3000}),
    ("latency", "2", {"ttft_ms": 2000.0}),
    ("latency", "500", {"ttft_ms": 500.0}),
    ("latency", "2 seconds", {"ttft_ms": 2000.0}),
    ("latency", "800ms", {"ttft_ms": 800.0}),
    ("latency", "no limit", {"ttft_ms": 10000.0}),
    ("method", "LoRA please", {"method": "lora"}),
    ("dataset_tokens", "500M", {"dataset_tokens": 500_000_000}),
    ("dataset_tokens", "2 billion tokens", {"dataset_tokens": 2_000_000_000}),
    ("epochs", "3", {"epochs": 3}),
    ("seq_len", "4k", {"seq_len": 4096}),
    ("horizon", "2 weeks", {"horizon": "14d"}),
    ("horizon", "30 days", {"horizon": "30d"}),
    ("clouds", "all", {"clouds": None}),
    ("clouds", "aws and azure", {"clouds": ["aws", "azure"]}),
    ("confirm", "yes", {"confirm": True}),
    ("confirm", "Sure, go ahead", {"confirm": True}),
    ("confirm", "no", {"confirm": False}),
    ("confirm", "make it 30 rps", {"rps": 30.0}),
]

WRONG = [
    ("intent", "banana"),
    ("model", "banana bread"),
    ("gpu", "banana"),
    ("rps", "lots"),
    ("rps", "-5"),
    ("rps", "0"),
    ("tokens", "long ones"),
    ("latency", "fast"),
    ("method", "quickly"),
    ("dataset_tokens", "5"),
    ("epochs", "2.5"),
    ("epochs", "4k"),
    ("seq_len", "3"),
    ("horizon", "soon"),
    ("history", "my data"),
    ("clouds", "ibm"),
    ("confirm", "maybe"),
    ("agent_shape", "lots of calls"),
    ("agent_shape", "1, 2, 3, 4, 5"),
]


def test_the_tables_hold_at_least_100_phrasings():
    assert len(MESSAGES) + len(ANSWERS) + len(WRONG) >= 100
    assert len(MESSAGES) >= 100


@pytest.mark.parametrize(("text", "expected"), MESSAGES, ids=[m[0][:50] for m in MESSAGES])
def test_message_values(text, expected):
    found = extract(text)
    assert {k: found.get(k) for k in expected} == expected, found


def test_the_agent_table_holds_at_least_15_phrasings():
    assert len(AGENT_MESSAGES) >= 15


@pytest.mark.parametrize(("text", "expected"), AGENT_MESSAGES, ids=[m[0][:50] for m in AGENT_MESSAGES])
def test_agent_message_values(text, expected):
    """``None`` = must not be read (a system prompt is not a request length, tool time is not a latency target)."""
    found = extract(text)
    assert {k: found.get(k) for k in expected} == expected, found


def test_the_agent_question_lists_only_the_missing_parts():
    question = BY_KEY["agent_shape"]
    assert question.text_for({"agent": True}).startswith("How does one agent task look: LLM calls per task, the shared")
    text = question.text_for({"agent": True, "llm_calls": 10.0, "output_tokens": 300})
    assert text == ("How does one agent task look: the shared prompt (system prompt + tool definitions) in tokens "
                    "and the tokens each call adds (tool results, user turn)?")  # fmt: skip
    assert interpret(question, "4000 800", {"agent": True, "llm_calls": 10.0, "output_tokens": 300}) == {
        "shared_prefix_tokens": 4000, "context_growth_tokens": 800}  # fmt: skip
    assert question.default({"agent": True, "llm_calls": 10.0}) == {
        "shared_prefix_tokens": 3000, "context_growth_tokens": 1000, "output_tokens": 300}  # fmt: skip


@pytest.mark.parametrize(("key", "text", "expected"), ANSWERS, ids=[f"{a[0]}:{a[1]}" for a in ANSWERS])
def test_bare_answers(key, text, expected):
    values = interpret(BY_KEY[key], text, {})
    assert {k: values.get(k) for k in expected} == expected, values
    if key == "model" and not expected:
        assert values.get("model", "").startswith("llama")  # a family alone picks one of its models


@pytest.mark.parametrize(("key", "text"), WRONG, ids=[f"{w[0]}:{w[1]}" for w in WRONG])
def test_wrong_answers_explain_what_is_expected(key, text):
    with pytest.raises(AnswerError) as raised:
        interpret(BY_KEY[key], text, {})
    assert len(str(raised.value)) > 20 and "\n" not in str(raised.value)


def test_unknown_model_suggests_close_names():
    with pytest.raises(AnswerError, match="Did you mean"):
        interpret(BY_KEY["model"], "llamma-3.1-8bb-turbo-xl", {})


def test_llm_calls_are_not_a_llama():
    assert "model" not in extract("10 LLM calls per request")
    assert names.find_model("an llm app") is None


@pytest.mark.parametrize(
    ("text", "digits"),
    [("three million", "3 million"), ("twenty-five", "25"), ("a thousand", "1000"), ("a dozen", "12"),
     ("two thousand five hundred", "2500"), ("half a million", "0.5 million"), ("one hundred and twenty", "120")],
)  # fmt: skip
def test_number_words(text, digits):
    assert digits_for_words(text) == digits


@pytest.mark.parametrize(("text", "value"), [("1.2k", 1200.0), ("1,200", 1200.0), ("3 million", 3e6), ("2B", 2e9),
                                             ("500m", 5e8), (".5", 0.5)])  # fmt: skip
def test_first_number(text, value):
    assert first_number(text) == value


@pytest.mark.parametrize(("text", "flag"), [("yes", True), ("Y", True), ("ok!", True), ("no", False), ("nope", False),
                                            ("perhaps", None), ("", None)])  # fmt: skip
def test_yes_no(text, flag):
    assert yes_no(text) is flag


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_extract_never_raises(text):
    assert isinstance(extract(text), dict)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([q.key for q in QUESTIONS]), st.text(max_size=80))
def test_interpret_raises_only_answer_error(key, text):
    try:
        values = interpret(BY_KEY[key], text, {})
    except AnswerError:
        return
    assert isinstance(values, dict)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0.01, max_value=1e6, allow_nan=False), st.sampled_from(["rps", "qps", "requests/s"]))
def test_rates_round_trip(value, unit):
    text = f"{value:.2f} {unit}"
    assert extract(text)["rps"] == pytest.approx(float(f"{value:.2f}"))


def test_the_conversation_plans_at_the_p99_it_asks_about():
    """The latency question says "at worst (p99)": the plan it makes bounds the 99th percentile."""
    from gpucast.chat.compute import inference_sections

    answers = {"intent": "inference", "model": "llama-3.1-8b", "rps": 5.0, "input_tokens": 500, "output_tokens": 200,
               "ttft_ms": 800.0}  # fmt: skip
    assert "(p99)" in BY_KEY["latency"].text
    serving = inference_sections(answers)["serving"]
    assert serving["slo_percentile"] == "99" and serving["ttft_slo_ms"] == 800.0


def test_prompt_lengths_without_the_word_tokens_are_read() -> None:
    # "4k prompts" was read by nothing (the default 1,000 tokens in was planned); "4k prompts a day" stays a rate
    assert extract("serve llama 3.1 8b, 4k prompts, 300 out")["input_tokens"] == 4000
    assert extract("prompts of ~2k, answers of 500")["input_tokens"] == 2000
    assert "input_tokens" not in extract("serve llama, 4k prompts a day")
    assert extract("32k context, 4k prompts") == {"input_tokens": 4000, "context_window": 32768}
    assert extract("long prompts (8k tokens), answers of 1k")["input_tokens"] == 8000  # was the default 1,000
    assert extract("for 300 engineers")["users"] == 300  # a head count by trade was no count (the default 10 rps)


def test_overnight_is_a_batch_window_of_12_hours_said_back() -> None:
    found = extract("summarize 1M documents of 3k tokens overnight")  # was no rate: the default 10 rps planned
    assert found["rps"] == pytest.approx(1_000_000 / (12 * 3600))
    assert "I took 'overnight' as 12 hours" in found["_unsure"]


def test_a_fine_tune_overnight_on_cloud_instances_is_a_12_hour_deadline_on_their_gpus() -> None:
    # "overnight" and "2 p4d.24xlarge" were read by nothing: no deadline, and 16 GPUs of the cheapest type
    found = extract(
        "fine-tune llama 3.1 8b, 20k examples of ~1k tokens, we have 2 p4d.24xlarge, need it done overnight"
    )
    assert (found["num_gpus"], found["gpu"], found["deadline_hours"]) == (16, "a100-40gb", 12.0), found
    assert "I took 'overnight' as 12 hours" in found["_unsure"]


def test_lengths_said_loosely_are_read_and_a_rate_of_answers_is_no_length() -> None:
    # "outputs are long, like 4000 tokens" was read by nothing (the default 300 out was planned for a reasoning model)
    found = extract("deepseek r1, 5 req/s, reasoning outputs are long, like 4000 tokens, prompts 500")
    assert (found["input_tokens"], found["output_tokens"]) == (500, 4000), found
    assert extract("prompts are short, maybe 200 tokens, answers about 100")["output_tokens"] == 100
    # "we answer 5 questions per second" was also 5 tokens out
    assert extract("we answer 5 questions per second") == {"rps": 5.0}
    assert "output_tokens" not in extract("answers, 5 rps")
