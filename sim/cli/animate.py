"""`sim animate`: the command, registered in :mod:`sim.cli`.

Only arguments, printing and exit codes live here; the animation is
:func:`sim.outputs.animate.write_animation`. A folder that is not one run's results, a bad
option or an unwritable file is one line on stderr and exit code 2, and nothing is
written.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from sim.cli.common import fail, out, out_path
from sim.outputs import folders

DEFAULT_FPS = 4  # sim.outputs.animate.DEFAULT_FPS, without importing matplotlib for --help


def animate_command(
    results_dir: Annotated[
        Path,
        typer.Argument(
            help="The results folder of one sim run (with timeseries.csv).",
            metavar="RESULTS_DIR",
            show_default=False,
        ),
    ],
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            parser=out_path,
            help="GIF, or MP4 if ffmpeg is installed [default: RESULTS_DIR/animation.gif].",
        ),
    ] = None,
    fps: Annotated[int, typer.Option(help="Frames per second (1 to 50).")] = DEFAULT_FPS,
    start: Annotated[
        str | None, typer.Option("--from", help="First minute shown, HH:MM [default: run start].")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="End of the film, HH:MM [default: run end].")
    ] = None,
    step_min: Annotated[
        int, typer.Option("--step-min", help="Simulated minutes per frame (1 or more).")
    ] = 1,
) -> None:
    """Animate one run for a classroom screen: the clock, how full each service is
    (busy workers, queue, servers up) and the people who meant to connect, got through,
    are in class or gave up, one frame per simulated minute, class starts and attacks
    marked. Reads the results folder only; nothing is simulated again.
    """
    from sim.outputs.animate import AnimateError, write_animation  # matplotlib: only when drawing

    started = time.perf_counter()
    try:
        folders.check_source(results_dir, (folders.SINGLE,), "sim animate", look_alikes_only=True)
        if out_file is not None:
            folders.check_animation_file(out_file)
    except folders.FolderError as e:
        fail(str(e))
    try:
        path, frames = write_animation(
            results_dir, out_file, fps=fps, start=start, until=until, step_min=step_min
        )
    except AnimateError as e:
        fail(str(e))
        raise
    except OSError as e:
        where = out_file or results_dir / "animation.gif"
        fail(f"cannot write the animation to {where}: {e.strerror or e}")
        raise
    wall = time.perf_counter() - started
    out.print(
        f"animation written to {path} ({frames} frames at {fps} per second, {wall:.1f} s)",
        highlight=False,
        soft_wrap=True,
    )
