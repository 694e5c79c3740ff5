"""Hourly request counts of the Azure LLM inference traces 2024 (one week each of a coding and a conversation
service; DynamoLLM, HPCA 2025) for the forecaster's evaluation (issue 26).

The two official files (``AzureLLMInferenceTrace_{code,conv}_1week.csv``, ~0.7 and ~1.1 GB, one row per request:
``TIMESTAMP,ContextTokens,GeneratedTokens``) are hosted outside the git repository and could not be downloaded
where this file was built. A faithful per-minute aggregation of them is public: wattproof's
``testdata/azure2024-llm-minutes.csv`` (https://github.com/wattproof/wattproof, commit
``abc2b0238108cdef497fbc0fae70515eff317f92``; derived by its ``analysis/traces/azure2024_minutes.py``): one row per
minute of each service's week, minute 0 at 00:00 UTC of the service's first day (code 2024-05-10, conversation
2024-05-12), columns ``minute,code_requests,code_context_tokens,code_generated_tokens,conv_requests,...``.
data/traffic/README.md records why it is taken as the real data: its per-minute request counts sum exactly to the
official row counts below, and the hourly statistics an independent analysis of the official files printed (first
ten hourly counts, each day's peak/trough ratio, coefficient of variation, 24-hour autocorrelation, weekday and
weekend means) are reproduced to the last digit.

Either source gives the same file:

    python scripts/azure2024_week.py --minutes <wattproof>/testdata/azure2024-llm-minutes.csv OUT.csv
    python scripts/azure2024_week.py --code-csv AzureLLMInferenceTrace_code_1week.csv \\
        --conv-csv AzureLLMInferenceTrace_conv_1week.csv OUT.csv

Output, long format, one row per service and hour (168 each): ``service`` (``azure-2024/code``,
``azure-2024/conversation``), ``timestamp`` (hour start, UTC), ``requests`` (requests in the hour), ``rps``
(requests / 3600). Each service keeps its own week (code Friday 10 - Thursday 16 May, conversation Sunday 12 -
Saturday 18 May 2024). The token columns of the source are not carried: the file serves the request-rate forecast.
Standard library only; the totals are checked against the official row counts (exit 1 when they differ).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

HOURS = 7 * 24
START = {"code": datetime(2024, 5, 10, tzinfo=UTC), "conv": datetime(2024, 5, 12, tzinfo=UTC)}
SERVICE = {"code": "azure-2024/code", "conv": "azure-2024/conversation"}
# Official row counts of AzureLLMInferenceTrace_{code,conv}_1week.csv (the 2024 description gives 16.8 M and 27.3 M;
# the exact counts as printed by analyses that read the files: code also in a checker pinning its 691,989,454 bytes)
ROWS = {"code": 16_803_695, "conv": 27_303_999}


def hourly_from_minutes(rows: Iterable[dict[str, str]]) -> dict[str, list[int]]:
    """Sum wattproof's per-minute request counts into each service's 168 hours (minute m is in hour m // 60)."""
    out = {key: [0] * HOURS for key in START}
    expected = 0
    for row in rows:
        minute = int(row["minute"])
        if minute != expected or minute >= HOURS * 60:
            raise ValueError(f"minute {minute}: expected {expected} (one row per minute of the week, in order)")
        expected += 1
        for key in START:
            out[key][minute // 60] += int(row[f"{key}_requests"])
    if expected != HOURS * 60:
        raise ValueError(f"{expected} minutes, expected {HOURS * 60}")
    return out


def read_minutes(path: Path) -> dict[str, list[int]]:
    with path.open(encoding="utf-8") as handle:
        return hourly_from_minutes(csv.DictReader(line for line in handle if not line.startswith("#")))


def hourly_from_requests(lines: Iterable[str], start: datetime) -> list[int]:
    """Count an official file's requests per hour of the week from ``start`` (timestamps like
    ``2024-05-10 00:00:00.009930+00:00``, all UTC)."""
    counts = [0] * HOURS
    it = iter(lines)
    if next(it).strip() != "TIMESTAMP,ContextTokens,GeneratedTokens":
        raise ValueError("unexpected header (want TIMESTAMP,ContextTokens,GeneratedTokens)")
    for line in it:
        stamp = datetime.fromisoformat(line.split(",", 1)[0])
        hour = int((stamp - start).total_seconds() // 3600)
        if not 0 <= hour < HOURS:
            raise ValueError(f"{stamp} is outside the week from {start:%Y-%m-%d}")
        counts[hour] += 1
    return counts


def check_totals(hours: dict[str, list[int]]) -> None:
    for key, rows in ROWS.items():
        if sum(hours[key]) != rows:
            raise ValueError(f"{SERVICE[key]}: {sum(hours[key]):,} requests, the official file has {rows:,}")


def write(hours: dict[str, list[int]], out: Path) -> None:
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["service", "timestamp", "requests", "rps"])
        for key in ("code", "conv"):
            for h, count in enumerate(hours[key]):
                stamp = (START[key] + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")
                writer.writerow([SERVICE[key], stamp, count, f"{count / 3600:.4f}"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=Path, help="wattproof's testdata/azure2024-llm-minutes.csv")
    parser.add_argument("--code-csv", type=Path, help="AzureLLMInferenceTrace_code_1week.csv (official)")
    parser.add_argument("--conv-csv", type=Path, help="AzureLLMInferenceTrace_conv_1week.csv (official)")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.minutes:
            hours = read_minutes(args.minutes)
        elif args.code_csv and args.conv_csv:
            hours = {}
            for key, path in (("code", args.code_csv), ("conv", args.conv_csv)):
                with path.open(encoding="utf-8-sig") as handle:
                    hours[key] = hourly_from_requests(handle, START[key])
        else:
            parser.error("give --minutes, or both --code-csv and --conv-csv")
        check_totals(hours)
    except ValueError as err:
        print(f"azure2024_week: {err}", file=sys.stderr)
        return 1
    write(hours, args.out)
    print(f"wrote {args.out}: {', '.join(f'{SERVICE[k]} {sum(v):,} requests' for k, v in hours.items())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
