"""Scripted conversations through the real command: piped stdin and ``--script FILE``.

Every plan here is computed by the real planner; the tests compare it with ``gpucast inference``
for the same numbers, so a chat that misread an answer fails."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from conftest import free_port, gpucast_exe

PROMPT = "] > "
MULTI = ("serve llama 3 70b on H100s on aws, about 1.2k requests per minute, 2k tokens in and 500 out, "
         "p99 under 2 seconds")  # fmt: skip


def chat(*args: str, stdin: str = "", env: dict[str, str] | None = None, cwd=None) -> subprocess.CompletedProcess[str]:
    """``gpucast chat ARGS`` with ``stdin`` piped in; no LLM endpoint unless ``env`` names one."""
    environment = {k: v for k, v in os.environ.items() if k != "GPUCAST_LLM_URL"} | (env or {})
    return subprocess.run([*gpucast_exe(), "chat", *args], input=stdin, capture_output=True, text=True, timeout=120,
                          env=environment, cwd=cwd)  # fmt: skip


def cli_json(*argv: str) -> dict:
    result = subprocess.run([*gpucast_exe(), *argv, "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_one_message_answers_everything_and_the_plan_matches_the_cli(tmp_path):
    out = tmp_path / "plan.json"
    result = chat(stdin=f"{MULTI}\nyes\njson {out}\ndone\n")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.count(PROMPT) == 4  # goal (answered with everything), confirm, then "what next" twice
    assert "20 requests/s on average (1,200/min)" in text and "2,000 in / 500 out" in text
    assert "first token within 2 s" in text and "H100-SXM on aws" in text
    plan = json.loads(out.read_text())
    assert plan["inputs"]["requests_per_second"] == 20.0
    cli = cli_json("inference", "--model", "llama-3-70b", "--gpu", "H100", "--cloud", "aws", "--rps", "20",
                   "--input-tokens", "2000", "--output-tokens", "500", "--ttft-slo-ms", "2000")  # fmt: skip
    assert plan["gpu_resources"] == cli["gpu_resources"]
    assert plan["cost"]["monthly_gpu_cost"] == cli["cost"]["monthly_gpu_cost"]
    assert "What drives the GPU count" in text and "Cheaper alternative" in text and "Risk:" in text


def test_defaults_only_finish_in_at_most_eight_questions(tmp_path):
    script = tmp_path / "empty.txt"
    script.write_text("")
    result = chat("--script", str(script))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(PROMPT) <= 8
    assert "Llama-3.1-8B" in result.stdout and "10 requests/s on average" in result.stdout
    assert "LLM INFRASTRUCTURE CAPACITY PLAN" in result.stdout and "Total GPUs" in result.stdout


def test_a_typical_flow_with_enter_for_every_default_is_eight_questions():
    result = chat(stdin="\n" * 8)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(PROMPT) == 8  # goal, model, GPU, load, tokens, latency, confirm, next
    assert "Done." in result.stdout


def test_back_changes_an_earlier_answer_and_keeps_the_others():
    answers = "serve\nllama 3 70b\nH100\n25 rps\nback\nback\nback\nmixtral\n\n\n1000 in 200 out\n\nyes\n"
    result = chat(stdin=answers)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.count("Going back.") == 3
    assert "previous answer: GPU H100-SXM, cloud aws" in text  # the undone answer is offered as the default
    summary = text[text.rindex("Here is what I understood") :]
    assert "Mixtral-8x7B" in summary and "Llama-3-70B" not in summary
    assert "H100-SXM on aws" in summary and "25 requests/s" in summary and "1,000 in / 200 out" in summary


def test_a_wrong_answer_is_explained_and_asked_again():
    result = chat(stdin="serve\nmistral 7b\nany\nlots of them\n40\n\n\nyes\n")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Sorry, I could not use that. I need one number greater than 0 for the request rate" in text
    assert text.count("How many requests per second") == 2
    assert "40 requests/s on average" in text and "Mistral-7B" in text and "Traceback" not in result.stderr


def test_agent_calls_multiply_the_load(tmp_path):
    out = tmp_path / "agent.json"
    result = chat(stdin=f"serve an agent app on llama 3.1 8b, 2 rps, 10 LLM calls per request\n\n\n\nyes\njson {out}\n")
    assert result.returncode == 0, result.stderr
    assert "2 user requests/s x 10 LLM calls each = 20 LLM requests/s planned" in result.stdout
    assert json.loads(out.read_text())["inputs"]["requests_per_second"] == 20.0


def test_the_agent_question_is_asked_only_for_agents():
    result = chat(stdin="serve an agent\n\n\n\n7\n\n\nyes\n")
    assert "How many LLM calls does one user request make" in result.stdout
    assert "7 LLM calls each" in result.stdout
    plain = chat(stdin="serve a chatbot\n")
    assert "How many LLM calls" not in plain.stdout


def test_commands_help_why_summary_skip_and_quit():
    result = chat(stdin="serve\nhelp\nwhy\nsummary\nskip\nquit\n")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Commands you can type" in text and "Why I ask:" in text and "Here is what I understood" in text
    assert "Bye: no plan computed." in text and "CAPACITY PLAN" not in text


def test_changing_a_value_at_the_confirmation(tmp_path):
    result = chat(stdin=f"{MULTI}\nno\n30 rps\nyes\n")
    assert result.returncode == 0, result.stderr
    assert "What should I change?" in result.stdout
    assert "30 requests/s on average" in result.stdout.split("Computing the plan")[0].rsplit("Here is what", 1)[1]


def test_saving_to_a_real_sqlite_database(tmp_path):
    db = f"sqlite:///{tmp_path / 'chat.db'}"
    result = chat("--db", db, stdin=f"{MULTI}\nyes\nsave\ndone\n")
    assert result.returncode == 0, result.stderr
    assert "Saved to the plan history" in result.stdout and "plan saved as" in result.stderr
    history = subprocess.run([*gpucast_exe(), "history", "--db", db, "--json"], capture_output=True, text=True,
                             timeout=60)  # fmt: skip
    rows = json.loads(history.stdout)
    assert len(rows) == 1 and rows[0]["kind"] == "inference" and rows[0]["gpu_type"] == "H100-SXM"


def test_save_flag_saves_without_asking(tmp_path):
    db = f"sqlite:///{tmp_path / 'auto.db'}"
    script = tmp_path / "answers.txt"
    script.write_text("# automation: serve mistral\nserve mistral 7b, 5 rps\n")
    result = chat("--script", str(script), "--save", "--db", db)
    assert result.returncode == 0, result.stderr
    history = subprocess.run([*gpucast_exe(), "history", "--db", db, "--json"], capture_output=True, text=True,
                             timeout=60)  # fmt: skip
    assert len(json.loads(history.stdout)) == 1


def test_markdown_export(tmp_path):
    out = tmp_path / "plan.md"
    result = chat(stdin=f"{MULTI}\nyes\nmarkdown {out}\n")
    assert result.returncode == 0, result.stderr
    assert out.read_text().lstrip().startswith("#") and "Llama-3-70B" in out.read_text()


def test_an_infeasible_plan_asks_for_a_change_then_succeeds():
    result = chat(stdin="serve deepseek v3 on T4 on aws, 5 rps, 1000 in 300 out, p99 under 2s\nyes\non H200\nyes\n")
    assert result.returncode == 0, result.stderr
    assert "I could not make that plan" in result.stdout and "Change an answer" in result.stdout
    assert "H200-SXM" in result.stdout.split("I could not make that plan")[1]
    assert "CAPACITY PLAN" in result.stdout


def test_an_infeasible_plan_at_the_end_of_a_script_exits_2(tmp_path):
    script = tmp_path / "bad.txt"
    script.write_text("serve deepseek v3 on T4 on aws, 5 rps\n")
    result = chat("--script", str(script))
    assert result.returncode == 2
    assert "gpucast: error:" in result.stderr and "Traceback" not in result.stderr


def test_missing_script_is_one_line_exit_2(tmp_path):
    result = chat("--script", str(tmp_path / "nope.txt"))
    assert result.returncode == 2 and "cannot be read" in result.stderr


def test_compare_and_training_flows(tmp_path):
    compare = chat(
        stdin="compare GPUs for mixtral, 5 rps\n\n\naws and gcp\nyes\njson " + str(tmp_path / "c.json") + "\n"
    )
    assert compare.returncode == 0, compare.stderr
    rows = json.loads((tmp_path / "c.json").read_text())
    assert rows and {r["cloud"] for r in rows} <= {"aws", "gcp"} and "Cheapest:" in compare.stdout
    training = chat(stdin="fine-tune llama 3.1 8b with qlora on 200M tokens for 2 epochs\n\n\nyes\n")
    assert training.returncode == 0, training.stderr
    assert "LLM TRAINING CAPACITY PLAN" in training.stdout and "qlora" in training.stdout
    assert "200,000,000 tokens x 2 epochs" in training.stdout


def test_forecast_flow_runs_predict_on_a_history(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = chat(stdin="forecast my service's growth\ndocs/sample-traffic.csv\n1 week\n\n\n\nyes\n", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "Capacity timeline" in result.stdout and "Forecast for" in result.stdout


def test_bare_gpucast_without_a_terminal_prints_help():
    result = subprocess.run(gpucast_exe(), input="", capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "chat" in result.stdout and "usage" in result.stdout.lower()


class _Completions(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that reads every answer as '7 rps' (records what it was sent)."""

    seen: ClassVar[list[dict]] = []

    def do_POST(self) -> None:  # the name http.server calls
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Completions.seen.append(body)
        reply = {"choices": [{"message": {"role": "assistant", "content": '```json\n{"rps": "7 rps"}\n```'}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def llm_url():
    server = HTTPServer(("127.0.0.1", free_port()), _Completions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_llm_endpoint_reads_what_the_rules_cannot(llm_url):
    _Completions.seen.clear()
    result = chat(
        stdin="serve mistral 7b\nany\nthe usual for a small team\n\n\nyes\n", env={"GPUCAST_LLM_URL": llm_url}
    )
    assert result.returncode == 0, result.stderr
    assert "read with the help of the language model" in result.stdout
    assert "7 requests/s on average" in result.stdout
    assert len(_Completions.seen) == 1 and "small team" in _Completions.seen[0]["messages"][-1]["content"]


def test_an_unreachable_llm_endpoint_falls_back_to_the_rules():
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = chat(
        stdin="serve mistral 7b\nany\nthe usual for a small team\n12\n\n\nyes\n", env={"GPUCAST_LLM_URL": url}
    )
    assert result.returncode == 0, result.stderr
    assert "Sorry, I could not use that." in result.stdout and "12 requests/s on average" in result.stdout
