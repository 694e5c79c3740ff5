"""CPU time of a new plan page, and a digest of the pages, over the questions ``bench_server.py`` draws.

    python benchmarks/bench_plan_page.py                 # CPU ms per new page (plan, curve, GPU x cloud comparison)
    python benchmarks/bench_plan_page.py --profile       # the same under cProfile: the top functions
    python benchmarks/bench_plan_page.py --digest        # SHA-256 of every rendered page (GET /plan?..., in process)
    python benchmarks/bench_plan_page.py --digest --plan-processes 2   # the same, computed in 2 plan processes
    python benchmarks/bench_plan_page.py --api           # CPU ms per new API plan (the site mix's POST /api/v1/inference)

Each question is computed once, in order, in one process (``gpucast.web.pages.planning._compute``, no plan
cache): what a cold server spends on the new plan pages of ``bench_server.py --distinct 200`` (layouts repeat
across questions, so the process's memos help as they would in the server). ``--digest`` renders each page
through the app, as a browser gets it, and prints one hash of all of them: two versions of the code that print
the same hash serve byte-identical plan pages for these questions.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import importlib.util
import pstats
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path


def questions(count: int) -> list[str]:
    """The plan pages' query strings of ``bench_server.py``'s ``count`` distinct questions."""
    spec = importlib.util.spec_from_file_location("bench_server", Path(__file__).with_name("bench_server.py"))
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return [bench.plan_page(body).split("?", 1)[1] for body in bench.bodies(count, seed=10_000)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--slo-percentile", default="99", help="99 (the default), 95, 90, 50 or mean")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions (cumulative)")
    parser.add_argument("--digest", action="store_true", help="hash the rendered pages instead of timing")
    parser.add_argument("--api", action="store_true", help="time the API plan of each question instead of its page")
    parser.add_argument(
        "--plan-processes",
        type=int,
        default=0,
        help="with --digest: compute the pages in this many plan processes (0: in the app's thread)",
    )
    args = parser.parse_args()
    queries = [q + f"&slo_percentile={args.slo_percentile}" for q in questions(args.questions)]
    if args.digest:
        from fastapi.testclient import TestClient

        from gpucast.web import WebSettings, create_app

        digest = hashlib.sha256()
        settings = WebSettings(plan_cache_size=0, plan_processes=args.plan_processes)
        with (
            tempfile.TemporaryDirectory() as folder,
            TestClient(create_app(f"sqlite:///{folder}/digest.db", settings)) as client,
        ):
            for query in queries:
                answer = client.get("/plan?" + query)
                digest.update(f"{answer.status_code}\n".encode() + answer.content)
        print(f"{len(queries)} plan pages, SLOs at {args.slo_percentile}: sha256 {digest.hexdigest()}")
        return 0
    from gpucast.planning.inference import plan_inference
    from gpucast.web.body_inputs import inference_inputs
    from gpucast.web.pages.planning import _compute, body_from_form

    if args.api:  # what POST /api/v1/inference computes for a new question: the plan and its dictionary
        _compute = lambda *given: plan_inference(*given).to_dict()  # noqa: E731

    inputs = [inference_inputs(body_from_form(dict(urllib.parse.parse_qsl(q)))) for q in queries]
    _compute(*inference_inputs(body_from_form({"model": "mistral-7b", "rps": "1", "input_tokens": "77",
                                               "output_tokens": "33"})))  # fmt: skip  # catalogs parsed once
    profile = cProfile.Profile() if args.profile else None
    start = time.process_time()
    if profile:
        profile.enable()
    for given in inputs:
        _compute(*given)
    if profile:
        profile.disable()
    spent = time.process_time() - start
    print(f"{len(inputs)} new {'API plans' if args.api else 'plan pages'}, SLOs at {args.slo_percentile}: {spent / len(inputs) * 1e3:.1f} ms of CPU "
          f"per {'plan' if args.api else 'page'}{' (under cProfile)' if profile else ''}")  # fmt: skip
    if profile:
        pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(35)
        pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
