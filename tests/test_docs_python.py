"""The Python the documentation shows runs as written against this checkout.

* every fenced ``python`` block of README.md and docs/*.md is executed in a fresh folder of its own (doctest
  blocks, ``>>>``, are run as doctests, their printed values compared), with the files the pages say they read put
  there: ``traffic.csv`` is docs/sample-traffic.csv; a store block's ``sqlite:///capacity.db`` is then a database
  in that folder. A block that reaches the network (a URL, ``prices update``) would be skipped; none does today.
* every inline call of a public name (`` `ServingOptions(slo_percentile="99")` ``) whose names are all gpucast's
  is evaluated, and planned when it builds an input (reliability.md aside: it quotes refused inputs);
* every dotted ``gpucast.…`` name and ``from gpucast… import …`` line the pages cite resolves to a module or an
  attribute (logger names aside).

A renamed function, a moved module or a changed signature then fails here instead of in a reader's session.
"""

from __future__ import annotations

import doctest
import importlib
import re
import shutil
from pathlib import Path

import pytest

import gpucast

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
NETWORK = re.compile(r"https?://|urlopen|prices update|fetch_prices")
LOGGERS = {"gpucast.access"}  # logger names the pages cite, not modules


def _blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for index, match in enumerate(BLOCK.finditer(page.read_text(encoding="utf-8"))):
            found.append((f"{page.name}#{index + 1}", match.group(1)))
    return found


BLOCKS = _blocks()


def test_the_python_api_page_has_blocks_to_run():
    assert sum(name.startswith("python-api.md") for name, _ in BLOCKS) >= 2


@pytest.mark.parametrize(("name", "code"), BLOCKS, ids=[name for name, _ in BLOCKS])
def test_a_python_block_runs_as_written(name, code, tmp_path, monkeypatch):
    if NETWORK.search(code):
        pytest.skip(f"{name} reaches the network")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GPUCAST_DATABASE_URL", f"sqlite:///{tmp_path / 'default.db'}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    shutil.copy(ROOT / "docs" / "sample-traffic.csv", tmp_path / "traffic.csv")
    if ">>> " in code:
        test = doctest.DocTestParser().get_doctest(code, {}, name, name, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test)
        assert runner.failures == 0 and runner.tries > 0, f"{name}: a doctest example failed (see the output above)"
    else:
        exec(compile(code, name, "exec"), {"__name__": f"docs_{name}"})  # the page's own code


PUBLIC = "|".join(n for n in gpucast.__all__ if n[0].isalpha())
INLINE = re.compile(rf"`((?:{PUBLIC})(?:\.\w+|\(\))*\([^`]*\))`")


def _inline_calls() -> list[tuple[str, str]]:
    calls = []
    for page in PAGES:
        if page.name == "reliability.md":  # it quotes the inputs the planners refuse
            continue
        for match in INLINE.finditer(page.read_text(encoding="utf-8")):
            text = " ".join(match.group(1).split())
            if "..." in text or "…" in text:  # "ModelConfig(...)": a sketch, not a call
                continue
            try:
                code = compile(text, page.name, "eval")
            except SyntaxError:  # a call cut short by the page's wording
                continue
            # placeholders ("for_length_profile(rps, NAME)") are names that are not gpucast's: not evaluated
            if set(code.co_names) <= set(gpucast.__all__) | {"for_agent", "for_length_profile"}:
                calls.append((page.name, text))
    return calls


INLINE_CALLS = _inline_calls()


def test_inline_calls_are_found():
    assert ("python-api.md", 'ServingOptions(slo_percentile="99")') in INLINE_CALLS


@pytest.mark.parametrize(("page", "call"), INLINE_CALLS, ids=[f"{p}:{c}" for p, c in INLINE_CALLS])
def test_an_inline_call_evaluates(page, call):
    """Evaluated, and an input it builds planned (a dataclass takes any value until a planner checks it)."""
    value = eval(call, {n: getattr(gpucast, n) for n in gpucast.__all__})
    workload = gpucast.LLMWorkloadInput(requests_per_second=5.0, avg_input_tokens=500, avg_output_tokens=200)
    model, gpu = gpucast.ModelConfig(model_name="llama-3.1-8b"), gpucast.GPUConfig(gpu_type="H100")
    if isinstance(value, gpucast.ServingOptions):
        gpucast.plan_inference(workload, model, gpu, value)
    elif isinstance(value, gpucast.LLMWorkloadInput):
        gpucast.plan_inference(value, model, gpu)
    else:
        assert value is not None


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for part in parts[cut:]:
                obj = getattr(obj, part)
        except AttributeError:
            return False
        return True
    return False


def _references() -> list[tuple[str, str]]:
    refs = set()
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        refs |= {(page.name, name) for name in re.findall(r"`(gpucast(?:\.[A-Za-z_]\w*)+)", text)} - {
            (page.name, logger) for logger in LOGGERS
        }
        for module, names in re.findall(r"`from (gpucast[\w.]*) import ([^`]+)`", text):
            refs |= {(page.name, f"{module}.{n.strip()}") for n in names.split(",")}
    return sorted(refs)


def test_every_cited_gpucast_name_resolves():
    missing = [f"{page}: {name}" for page, name in _references() if not _resolves(name)]
    assert len(_references()) > 30 and not missing, missing
