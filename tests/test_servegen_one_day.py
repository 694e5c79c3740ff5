"""scripts/servegen_one_day.py (with scripts/aggregate_trace.py): per-10-minute sums, token means and the client
rule on a tiny ServeGen-format folder, hand-checked; and the committed file it built."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import load_script

pd = pytest.importorskip("pandas")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def one_day():
    return load_script(REPO / "scripts" / "servegen_one_day.py", "servegen_one_day")


def _trace(folder: Path, client: int, rates: list[str]) -> None:
    # ServeGen's layout: start_s, rate (req/s), cv, pattern, p1, p2; an empty rate is a window without data (0)
    rows = [f"{600 * i},{r},1.0,Gamma,1.0,2.0\n" for i, r in enumerate(rates)]
    (folder / f"chunk-{client}-trace.csv").write_text("".join(rows))


def _dataset(folder: Path, client: int, windows: dict[int, dict[str, str]]) -> None:
    (folder / f"chunk-{client}-dataset.json").write_text(json.dumps({str(k): v for k, v in windows.items()}))


def test_tiny_servegen_folder_hand_checked(one_day, tmp_path) -> None:
    reason = tmp_path / "reason" / "deepseek-r1"
    image = tmp_path / "multimodal" / "mm-image"
    reason.mkdir(parents=True)
    image.mkdir(parents=True)
    _trace(reason, 0, ["1.0", "2.0", ""])  # traffic in 2 of 3 windows: not a selected client
    _trace(reason, 1, ["0.5", "0.5", "0.5"])  # always active, the highest mean of those: selected
    _trace(reason, 2, ["0", "0", "3.0"])  # 1 of 3 windows
    _trace(reason, 3, ["0.2", "0.2", "0.2"])  # always active, lower mean: left out with --per-model 1
    _dataset(reason, 0, {0: {"input_tokens": "{100: 0.5, 300: 0.5}", "output_tokens": "{10: 1.0}",
                             "reason_ratio": "{0: 1.0}"}})  # fmt: skip
    _dataset(reason, 1, {0: {"input_tokens": "{1000: 1.0}", "output_tokens": "{50: 1.0}", "reason_ratio": "{0: 1.0}"}})
    _trace(image, 0, ["2.0", "2.0", "2.0"])
    no_av = {"audio_count": "{0: 1.0}", "audio_tokens": "{0: 1.0}", "video_count": "{0: 1.0}",
             "video_tokens": "{0: 1.0}"}  # fmt: skip
    _dataset(image, 0, {
        # text 100 + mean image count 1 x mean tokens per image 1000 = 1100 input tokens
        0: {"text_tokens": "{100: 1.0}", "image_count": "{0: 0.5, 2: 0.5}", "image_tokens": "{500: 0.5, 1500: 0.5}",
            "output_tokens": "{20: 1.0}", **no_av},
        # from second 1200 (the third window) on: 300 + 1 x 1000 = 1300
        1200: {"text_tokens": "{300: 1.0}", "image_count": "{1: 1.0}", "image_tokens": "{1000: 1.0}",
               "output_tokens": "{40: 1.0}", **no_av},
    })  # fmt: skip
    out = one_day.build(tmp_path, per_model=1, active=0.9)
    assert list(out["service"].unique()) == ["deepseek-r1", "deepseek-r1/client-1", "mm-image", "mm-image/client-0"]
    total = out[out["service"] == "deepseek-r1"]
    assert total["timestamp"].tolist() == ["2025-01-01T00:00:00Z", "2025-01-01T00:10:00Z", "2025-01-01T00:20:00Z"]
    assert total["rps"].tolist() == [1.7, 2.7, 3.7]  # 1.0 + 0.5 + 0 + 0.2, 2.0 + 0.5 + 0 + 0.2, 0 + 0.5 + 3.0 + 0.2
    # tokens weighted by the rates of the clients with a dataset file (0 and 1): (1.0 x 200 + 0.5 x 1000) / 1.5
    assert total["input_tokens"].tolist() == [466.7, 360.0, 1000.0]  # (2 x 200 + 500) / 2.5; client 1 alone
    assert total["output_tokens"].tolist() == [23.3, 18.0, 50.0]  # (10 + 25) / 1.5, (20 + 25) / 2.5
    client = out[out["service"] == "deepseek-r1/client-1"]
    assert client["rps"].tolist() == [0.5, 0.5, 0.5] and client["input_tokens"].tolist() == [1000.0] * 3
    mm = out[out["service"] == "mm-image"]
    assert mm["rps"].tolist() == [2.0, 2.0, 2.0]
    assert mm["input_tokens"].tolist() == [1100.0, 1100.0, 1300.0]
    assert mm["output_tokens"].tolist() == [20.0, 20.0, 40.0]


def test_committed_file_shape() -> None:
    # data/traffic/servegen_one_day.csv from ServeGen f891d11 (data/traffic/README.md): one day per 10 minutes
    frame = pd.read_csv(REPO / "data" / "traffic" / "servegen_one_day.csv")
    counts = frame.groupby("service", sort=False).size()
    assert list(counts.index[[0, 5]]) == ["deepseek-r1", "mm-image"] and (counts == 144).all() and len(counts) == 10
    wide = frame.pivot(index="timestamp", columns="service", values="rps")
    for model in ("deepseek-r1", "mm-image"):  # the four clients are part of their model's total
        clients = [c for c in wide.columns if c.startswith(f"{model}/client-")]
        assert len(clients) == 4 and (wide[clients].sum(axis=1) <= wide[model] + 1e-3).all()
    assert 15 < wide["deepseek-r1"].mean() < 17 and 9 < wide["mm-image"].mean() < 10  # 16.01 and 9.47 req/s
