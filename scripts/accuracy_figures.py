"""Print the accuracy figures recorded by the last calibration fits, for docs/accuracy.md.

scripts/calibrate.py and scripts/calibrate_training.py write their error tables (in sample and leave-one-source-out)
into the header of the calibration files they produce, with the data they were fitted on and the date. This prints
those headers, so the documentation quotes the shipped fit and not a copy that can drift
(scripts/update_readme.py regenerates the page; tests/test_docs.py checks it).
"""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[1] / "src" / "gpucast" / "catalog"


def error_table(path: Path, start: str) -> list[str]:
    """The header's comment lines from the one that starts with ``start`` up to the first non-comment line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.lstrip("# ").startswith(start))
    table = []
    for line in lines[first:]:
        if not line.startswith("#"):
            break
        table.append(line.removeprefix("#").removeprefix(" ").rstrip())
    return table


def main() -> None:
    serving = CATALOG / "calibration.toml"
    source = tomllib.loads(serving.read_text(encoding="utf-8"))["defaults"]["source"]
    print(f"Serving ({serving.name}):")
    print(textwrap.fill(source, width=110, initial_indent="  ", subsequent_indent="  "))
    print("\n".join("  " + line for line in error_table(serving, "median (p90)")))
    training = CATALOG / "training_calibration.toml"
    print(f"\nTraining ({training.name}):")
    print("  fitted by scripts/calibrate_training.py")
    print("\n".join("  " + line for line in error_table(training, "Absolute % error")))


if __name__ == "__main__":
    main()
