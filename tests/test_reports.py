"""``gpucast report`` and :mod:`gpucast.reports`: the Markdown and HTML reports of stored plans.

The HTML report is opened in headless Chromium (Debian's /usr/bin/chromium through Playwright, as the web tests
do) with every network request blocked and recorded: it must render its sections and charts from the one file.
The screenshot is saved to docs/report-example.png (shown in the README).
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from conftest import gpucast_exe
from golden.golden_files import INFERENCE, TRAINING, load, plan_path
from gpucast.errors import InputError
from gpucast.reports import html_report, markdown_report
from gpucast.reports.content import build_report, inference_risks

DOCS = Path(__file__).resolve().parent.parent / "docs"
SECTIONS = ("Summary", "Inputs", "The plan", "Charts", "Assumptions and sources", "Risks", "Alternatives")


@pytest.fixture(scope="module")
def reports() -> dict[str, tuple[str, str]]:
    """(markdown, html) per stored plan; alternatives only for two plans (they re-plan every GPU x cloud)."""
    out = {}
    for name in INFERENCE + TRAINING:
        alternatives = name in ("h100-llama-3.1-70b", "lora-llama-3.1-8b")
        plan = load(name)
        out[name] = (markdown_report(plan, alternatives=alternatives), html_report(plan, alternatives=alternatives))
    return out


@pytest.mark.parametrize("name", INFERENCE + TRAINING)
def test_markdown_has_every_section_and_the_plan_numbers(reports: dict[str, tuple[str, str]], name: str) -> None:
    text, _ = reports[name]
    plan = load(name)
    for section in SECTIONS:
        assert f"\n## {section}\n" in text, section
    assert plan["recommendation"] in text
    for assumption in plan["assumptions"]:
        assert assumption in text
    res = plan["gpu_resources"]
    if plan["kind"] == "inference":
        assert f"**GPUs**: {res['total_gpus']} × {res['recommended_gpu_type']}" in text
        assert f"${plan['cost']['monthly_total_cost']:,.0f}" in text
    else:
        assert f"{res['required_gpus']} × {res['recommended_gpu_type']} on {res['nodes']} node(s)" in text
        assert f"{plan['training_metrics']['estimated_duration_hours']:,.1f} h" in text


@pytest.mark.parametrize("name", INFERENCE + TRAINING)
def test_markdown_charts_are_embedded_svg_with_data(reports: dict[str, tuple[str, str]], name: str) -> None:
    text, _ = reports[name]
    images = re.findall(r"!\[([^\]]+)\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", text)
    assert len(images) >= (3 if load(name)["kind"] == "inference" else 1)
    for _title, payload in images:
        svg = base64.b64decode(payload).decode("utf-8")
        points = int(re.search(r'data-points="(\d+)"', svg).group(1))  # type: ignore[union-attr]
        assert svg.startswith("<svg") and points > 0
    assert "http://" not in re.sub(r"\(https?://[^)]*\)|https?://\S+", "", text.split("## Charts")[1].split("##")[0])


def test_alternatives_come_from_compare(reports: dict[str, tuple[str, str]]) -> None:
    text, _ = reports["h100-llama-3.1-70b"]
    table = text.split("## Alternatives")[1]
    assert "| ➜ H100-SXM | aws | 8 | 4 |" in table  # the plan's own row is in the comparison and marked
    assert table.count("\n| ") >= 3
    training = reports["lora-llama-3.1-8b"][0].split("## Alternatives")[1]
    assert "| GPU | cloud | GPUs | TP×PP×DP | hours | total cost | instance |" in training
    assert "Not computed" in reports["l4-llama-3.1-8b-fp8"][0].split("## Alternatives")[1]


def test_risks_follow_the_plan_numbers() -> None:
    plan = load("h100-llama-3.1-70b")
    assert any("No autoscaling headroom" in r for r in inference_risks(plan))  # min == max replicas == 2
    plan["throughput"]["meets_latency_sla"] = False
    plan["scaling"]["recommended_max_replicas"] = 4
    risks = inference_risks(plan)
    assert any(r.startswith("The SLOs are not met") for r in risks)
    assert not any("No autoscaling headroom" in r for r in risks)
    lora = build_report(load("lora-llama-3.1-8b"), alternatives=False)
    assert any("7 paid GPU(s) idle" in r for r in lora.risks)  # 1 GPU used of a p4d.24xlarge's 8


def test_not_a_plan_is_refused() -> None:
    with pytest.raises(InputError, match="not a gpucast plan"):
        markdown_report({"kind": "forecast"})


class _Resources(HTMLParser):
    """Every attribute that would make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for key, value in attrs:
            if key in ("src", "srcset", "data", "poster") or (key == "href" and tag in ("link", "use", "image")):
                self.fetches.append(f"{tag} {key}={value}")


@pytest.mark.parametrize("name", INFERENCE + TRAINING)
def test_html_is_self_contained(reports: dict[str, tuple[str, str]], name: str) -> None:
    _, page = reports[name]
    parser = _Resources()
    parser.feed(page)
    assert parser.fetches == [] and "script" not in parser.tags and "@import" not in page
    assert page.count("<svg") >= (3 if load(name)["kind"] == "inference" else 1)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_cli_writes_reports(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = subprocess.run([*gpucast_exe(), "report", str(plan_path("l4-llama-3.1-8b-fp8")), "--format", "html",
                             "--no-alternatives", "--output", str(out)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == html_report(load("l4-llama-3.1-8b-fp8"), alternatives=False)
    md = subprocess.run([*gpucast_exe(), "report", str(plan_path("lora-llama-3.1-8b")), "--no-alternatives"],
                        capture_output=True, text=True, timeout=120)  # fmt: skip
    assert md.returncode == 0 and md.stdout.startswith("# Training plan: Llama-3.1-8B (lora)")


def test_html_renders_offline_in_chromium(reports: dict[str, tuple[str, str]], tmp_path: Path) -> None:
    browser_tests = pytest.importorskip("test_web_browser", reason="browser tests need Chromium and Playwright")
    page_file = tmp_path / "report.html"
    page_file.write_text(reports["h100-llama-3.1-70b"][1], encoding="utf-8")
    requested: list[str] = []
    with browser_tests.sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_tests.CHROMIUM, args=browser_tests.ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})

            def block(route: Any) -> None:
                if not route.request.url.startswith("file://"):
                    requested.append(route.request.url)
                    route.abort()
                else:
                    route.continue_()

            context.route("**/*", block)
            page = context.new_page()
            page.goto(page_file.as_uri())
            assert page.title().startswith("Serving plan: Llama-3.1-70B")
            for section in SECTIONS:
                assert page.locator("h2", has_text=section).first.is_visible(), section
            charts = page.locator("figure svg.chart")
            assert charts.count() >= 4
            for i in range(charts.count()):
                box = charts.nth(i).bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 80
            assert page.locator("svg.chart circle.operating-point").count() >= 2  # the plan's operating point
            DOCS.mkdir(exist_ok=True)
            page.screenshot(path=str(DOCS / "report-example.png"), full_page=True)
        finally:
            browser.close()
    assert requested == []
    assert (DOCS / "report-example.png").stat().st_size > 20_000


def test_reports_and_their_charts_need_no_server_packages():
    """The charts are standard library only: a report renders with FastAPI, Jinja2 and MarkupSafe unimportable."""
    code = (
        "import sys\n"
        "for name in ('fastapi', 'starlette', 'jinja2', 'markupsafe', 'pydantic'): sys.modules[name] = None\n"
        "from gpucast import LLMWorkloadInput, ModelConfig, plan_inference\n"
        "from gpucast.reports import html_report, markdown_report\n"
        "plan = plan_inference(LLMWorkloadInput(requests_per_second=2, avg_input_tokens=500, avg_output_tokens=200),\n"
        "                      ModelConfig(model_name='llama-3.1-8b', precision='BF16')).to_dict()\n"
        "html, md = html_report(plan), markdown_report(plan)\n"
        "print(html.count('<svg'), md.count('data:image/svg+xml'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    svgs, images = map(int, result.stdout.split())
    assert svgs >= 3 and images >= 3


def test_a_variant_plan_reports_its_agent_speculative_and_disaggregation_sections() -> None:
    """A report of an agent plan printed its inputs as a Python dict's repr and none of the sections the console
    shows (cache hit rate, task latency, speculation's verdict, the disaggregation's); each is a table now, with the
    plan's own numbers."""
    from gpucast.inputs.agent import AgentWorkloadInput
    from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
    from gpucast.planning.inference import plan_inference

    agent = AgentWorkloadInput(0.5, 8.0, 3000, 1000)
    plan = plan_inference(
        LLMWorkloadInput.for_agent(agent, output_tokens=250),
        ModelConfig(model_name="llama-3.1-70b"),
        GPUConfig("H100"),
        ServingOptions(speculative_tokens=4, acceptance_rate=0.7, disaggregation=True),
    ).to_dict()
    text = markdown_report(plan, alternatives=False)
    assert "{'" not in text  # no dict repr among the inputs
    assert "| agent.tasks_per_second | 0.50 |" in text
    titles = {table.title: table for table in build_report(plan, alternatives=False).tables}
    hit = f"{plan['agent']['prefix_cache_hit_rate']:.0%}"
    assert ("prefix-cache hit rate", hit) in titles["Agent workload"].rows
    spec = dict(titles["Speculative decoding"].rows)
    assert (
        spec["acceptance rate / tokens per verification step"] == f"0.7 / {plan['speculative']['tokens_per_step']:.2f}"
    )
    verdict = dict(titles["Disaggregated prefill/decode"].rows)["verdict"]
    assert verdict.startswith(plan["disaggregation"]["winner"]) and plan["disaggregation"]["reason"] in verdict
    assert "Agent workload" in html_report(plan, alternatives=False)


def test_a_missed_percentile_slo_is_stated_at_its_percentile() -> None:
    """A plan that misses p99 SLOs is refused (export) and flagged (report) with its p99 latencies against the
    targets: its mean TTFT below a p99 target said nothing about the miss. Plans written before the percentile
    fields keep the means."""
    from gpucast.export.plan_file import latencies_against_slos

    plan = load("h100-llama-3.1-70b")
    assert latencies_against_slos(plan).startswith("TTFT ")  # an older plan: the means
    plan["inputs"]["slo_percentile"] = "99"
    plan["throughput"].update(meets_latency_sla=False, estimated_ttft_ms=900.0, ttft_at_slo_percentile_ms=2400.0,
                              tpot_at_slo_percentile_ms=41.0)  # fmt: skip
    stated = latencies_against_slos(plan)
    assert stated.startswith("p99 TTFT 2,400 ms vs 2000 ms, p99 TPOT 41.0 ms vs ") and "900" not in stated
    assert any(r == f"The SLOs are not met: {stated} at the planned peak." for r in inference_risks(plan))
