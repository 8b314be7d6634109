"""Run the robustness catalogue and the .symnet fuzz, and print the counts the closing note quotes.

    .venv/bin/python scripts/robustness_report.py [--files N]

The catalogue is tests/robustness/test_mistakes.py (each mistake: a clear NetError, an unclear
error, or silently accepted); the fuzz draws N damaged or crafted files from
tests/robustness/test_fuzz_files.py's strategy and counts how each loads.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore")

from hypothesis import HealthCheck, given, settings  # noqa: E402

from symnet import NetError  # noqa: E402
from tests.robustness.conftest import clarity_problems, outcome  # noqa: E402
from tests.robustness.test_fuzz_files import damaged_files, load_outcome  # noqa: E402
from tests.robustness.test_mistakes import MISTAKES  # noqa: E402


def catalogue() -> None:
    counts: collections.Counter[str] = collections.Counter()
    not_clear = []
    for entry in MISTAKES:
        name, mistake, _ = entry.values if hasattr(entry, "values") else entry
        owner = entry.marks[0].kwargs["reason"] if hasattr(entry, "marks") else None
        kind, error = outcome(mistake)
        counts[kind] += 1
        if kind != "clear":
            detail = "; ".join(clarity_problems(error)) if error is not None else "silently accepted"
            not_clear.append(f"  {name}: {detail}" + (f"  [owner: {owner}]" if owner else "  [NOT MARKED]"))
    print(f"catalogue: {len(MISTAKES)} distinct mistakes; {counts['clear']} give a clear NetError, "
          f"{counts['unclear']} an unclear or non-NetError exception, {counts['accepted']} are silently accepted")
    print("\n".join(not_clear))


def fuzz(files: int) -> None:
    outcomes: collections.Counter[str] = collections.Counter()
    by_kind: collections.Counter[tuple[str, str]] = collections.Counter()
    worst = {"seconds": 0.0, "bytes": 0}
    others: list[str] = []

    @settings(max_examples=files, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(damaged_files())
    def one(case):
        how, content = case
        tracemalloc.start()
        started = time.perf_counter()
        try:
            result = load_outcome(content)
        except NetError:
            result = "NetError"
        except Exception as error:  # noqa: BLE001 - counted: the suite fails on these
            result = "other exception"
            others.append(f"  {how}: {type(error).__name__}: {str(error)[:120]}")
        finally:
            worst["seconds"] = max(worst["seconds"], time.perf_counter() - started)
            worst["bytes"] = max(worst["bytes"], tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        outcomes[result] += 1
        by_kind[(how, result)] += 1

    one()
    total = sum(outcomes.values())
    print(f"fuzz: {total} damaged or crafted .symnet files; " + ", ".join(f"{n} {k}" for k, n in outcomes.most_common())
          + f"; slowest load {worst['seconds'] * 1000:.0f} ms, largest peak allocation {worst['bytes'] / 2**20:.1f} MiB")
    kinds = sorted({how for how, _ in by_kind})
    print("  by damage: " + "; ".join(f"{how} " + "/".join(f"{by_kind[(how, r)]} {r}" for r in sorted(outcomes) if by_kind[(how, r)]) for how in kinds))
    print("\n".join(others[:20]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="how many fuzzed files (default 2000)")
    arguments = parser.parse_args()
    catalogue()
    fuzz(arguments.files)


if __name__ == "__main__":
    main()
