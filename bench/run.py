"""Run every bench/bench_*.py, print a table and write bench/results.json.

Usage: python -m bench.run [--quick] [name ...]
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
import importlib
import json
import os
from pathlib import Path
import platform
import sys
import time

BENCH_DIR = Path(__file__).parent
COLUMNS = ("benchmark", "metric", "roomdb", "baseline", "unit", "ratio", "target", "met")


def _machine() -> dict[str, object]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short variants (smoke test)")
    parser.add_argument("names", nargs="*", help="run only these bench_<name> modules")
    args = parser.parse_args()
    modules = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    if args.names:
        modules = [m for m in modules if m.removeprefix("bench_") in args.names or m in args.names]
    rows: list[dict[str, object]] = []
    for name in modules:
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"bench.{name}")
        rows.extend(module.run(args.quick))
        print(f"  {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    widths = {c: max(len(c), *(len(_fmt(r.get(c, ""))) for r in rows)) for c in COLUMNS}
    print("  ".join(c.ljust(widths[c]) for c in COLUMNS))
    for row in rows:
        print("  ".join(_fmt(row.get(c, "")).ljust(widths[c]) for c in COLUMNS))
    document = {
        "generated_at": datetime.now(UTC).isoformat(),
        "quick": args.quick,
        "machine": _machine(),
        "results": rows,
    }
    (BENCH_DIR / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    return 0 if all(row.get("met", True) for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
