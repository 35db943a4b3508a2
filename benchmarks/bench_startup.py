"""Start-up time of the ``sim`` command: whole processes, wall and CPU time.

Run by hand from the repository root::

    python benchmarks/bench_startup.py                  # this tree, 10 repeats
    python benchmarks/bench_startup.py --repeat 20 --tree /path/to/other/checkout --tree .
    python benchmarks/bench_startup.py --json

Each command is a fresh ``python -m sim ...`` (or ``python -c ...``) whose working folder
and ``PYTHONPATH`` are the tree measured, so that its ``sim`` is that tree's source (the
compiled build changes the engine, not the imports). The commands (and the trees, given
several) are interleaved, ``--repeat`` rounds of each, so that a second job on the
machine slows them all alike; the CPU time (user + system, from the child's resource
usage) is less sensitive to such a job than the wall time. Reference rows measure what
sim cannot make faster: the interpreter, typer, rich, pydantic, and a two-command Typer
app running one command (Typer coerces parameters with pydantic, whatever the app).
Printed: the fastest and the median of each, then the ten imports of ``sim --help``
with the largest cumulative time (``python -X importtime``, the fastest of three), as
Markdown tables ready for docs/performance.md, with the machine, the commit and the load
average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

TYPER_APP = """
import typer
app = typer.Typer()
@app.command()
def one(name: str = "x") -> None:
    pass
@app.command()
def two() -> None:
    pass
app(["one", "--name", "y"], standalone_mode=False)
"""
COMMANDS = {
    "sim --help": ["-m", "sim", "--help"],
    "sim --version": ["-m", "sim", "--version"],
    "sim show default": ["-m", "sim", "show", "default"],
    "sim examples": ["-m", "sim", "examples"],
    'python -c "import sim"': ["-c", "import sim"],
    # what sim cannot make faster, for reference:
    'python -c "pass"': ["-c", "pass"],  # the interpreter alone: the floor
    'python -c "import typer"': ["-c", "import typer"],
    'python -c "import rich.console"': ["-c", "import rich.console"],
    'python -c "import pydantic"': ["-c", "import pydantic.main"],  # BaseModel, as the schema
    "a two-command Typer app, one run": ["-c", TYPER_APP],  # Typer coerces with pydantic
}
TOP_IMPORTS = 10


def cpu_model() -> str:
    """The CPU's model name as /proc/cpuinfo gives it (on a VM, often just a family)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "model name":
                return value
    except OSError:
        pass
    return platform.processor() or "unknown"


def commit(tree: Path) -> str:
    """The tree's commit, with ``+changes`` if its files differ from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=tree, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    return sha + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def child_env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return {**env, "PYTHONPATH": str(tree)}


def timed(tree: Path, args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of ``python ARGS`` run in `tree` (its output discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args],
        cwd=tree,
        env=child_env(tree),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"python {' '.join(args)} in {tree} failed:\n{done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def top_imports(tree: Path, n: int = TOP_IMPORTS) -> list[dict[str, Any]]:
    """The `n` imports of ``sim --help`` with the largest cumulative time, from the
    fastest of three runs under ``-X importtime`` (indentation: depth of nesting)."""
    runs = []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", *COMMANDS["sim --help"]],
            cwd=tree,
            env=child_env(tree),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=True,
        )
        rows = []
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            head, cumulative_us, name = line.split("|")  # "import time: SELF | CUM | name"
            self_us = head.removeprefix("import time:")
            rows.append(
                {
                    "module": name.strip(),
                    "depth": (len(name) - len(name.lstrip()) - 1) // 2,
                    "self_ms": int(self_us) / 1000,
                    "cumulative_ms": int(cumulative_us) / 1000,
                }
            )
        runs.append(rows)
    fastest = min(runs, key=lambda rows: sum(r["self_ms"] for r in rows))
    return sorted(fastest, key=lambda r: r["cumulative_ms"], reverse=True)[:n]


def measure(trees: list[Path], repeat: int) -> dict[str, dict[str, dict[str, list[float]]]]:
    """{tree: {command: {"wall": [...], "cpu": [...]}}}, `repeat` interleaved rounds."""
    times = {str(t): {c: {"wall": [], "cpu": []} for c in COMMANDS} for t in trees}
    for k in range(repeat):
        for command, args in COMMANDS.items():
            for tree in trees:
                wall, cpu = timed(tree, args)
                times[str(tree)][command]["wall"].append(wall)
                times[str(tree)][command]["cpu"].append(cpu)
        print(f"  round {k + 1}/{repeat}", file=sys.stderr, flush=True)
    return times


def summary(samples: list[float]) -> dict[str, float]:
    return {"min": min(samples), "median": statistics.median(samples)}


def report(trees: list[Path], repeat: int) -> dict[str, Any]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    times = measure(trees, repeat)
    load_after = [round(x, 2) for x in os.getloadavg()]
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python", *sys.argv]),
        "repeat": repeat,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "trees": [
            {
                "tree": str(tree),
                "commit": commit(tree),
                "commands": {
                    command: {kind: summary(s) for kind, s in samples.items()}
                    for command, samples in times[str(tree)].items()
                },
                "top_imports_of_help": top_imports(tree),
            }
            for tree in trees
        ],
    }


def markdown(data: dict[str, Any]) -> str:
    """The tables of docs/performance.md: one row per command, a column pair per tree."""
    lines = [
        f"{data['date']}, {data['cpu']}, {data['cores']} cores, Python {data['python']}, "
        f"load average {data['load_average_before'][0]:.2f} before, "
        f"{data['load_average_after'][0]:.2f} after; {data['repeat']} interleaved rounds; "
        "seconds, fastest (median).",
        "",
    ]
    trees = data["trees"]
    header = (
        "| command | " + " | ".join(f"{t['commit']} wall | {t['commit']} CPU" for t in trees) + " |"
    )
    lines += [header, "|---|" + "---:|" * (2 * len(trees))]
    for command in COMMANDS:
        cells = []
        for t in trees:
            for kind in ("wall", "cpu"):
                s = t["commands"][command][kind]
                cells.append(f"{s['min']:.3f} ({s['median']:.3f})")
        lines.append(f"| `{command}` | " + " | ".join(cells) + " |")
    for t in trees:
        lines += [
            "",
            f"The {TOP_IMPORTS} imports of `sim --help` with the largest cumulative time "
            f"({t['commit']}, `-X importtime`, the fastest of three runs):",
            "",
            "| module | cumulative ms | self ms |",
            "|---|---:|---:|",
        ]
        for r in t["top_imports_of_help"]:
            name = "\u00a0\u00a0" * r["depth"] + f"`{r['module']}`"
            lines.append(f"| {name} | {r['cumulative_ms']:.1f} | {r['self_ms']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tree",
        type=Path,
        action="append",
        help="a checkout to measure (repeatable, interleaved) [default: this one]",
    )
    parser.add_argument("--repeat", type=int, default=10, help="rounds of every command")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    for tree in trees:
        if not (tree / "sim" / "__init__.py").is_file():
            parser.error(f"--tree {tree}: no sim/__init__.py there")
    data = report(trees, args.repeat)
    print(json.dumps(data, indent=2) if args.json else markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
