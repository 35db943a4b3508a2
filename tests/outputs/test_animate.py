"""`sim animate`: a GIF with one frame per simulated minute, built from a results folder
alone; the frame shows the clock, how full each service is, the people, class starts
and attacks; blitting draws the same picture as a full redraw; bad input is one line,
exit code 2, and nothing written.

The runs are the teaching surge (0.2 s), the same surge under an application flood, and
6 April 2021 at 0.3 % scale (24 services and generated DDoS waves, a few seconds).
"""

from __future__ import annotations

import csv
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.animation import PillowWriter
from matplotlib.figure import Figure
from PIL import Image
from typer.testing import CliRunner

from sim.cli import app
from sim.config import clock_to_s, load_scenario
from sim.config.scale import scale
from sim.outputs import animate
from sim.outputs.animate import (
    ATTACK_WAVE_LABEL,
    CLASS_START_LABEL,
    CLOCK,
    CURSOR,
    FILL,
    OFF,
    STATUS,
    AnimateError,
    animation,
    frame_figure,
    frame_minutes,
    load_morning,
    render,
)
from sim.outputs.plots.dashboard import OKABE_ITO, shown_services
from sim.outputs.run_folder import write_results
from sim.simulation.runner import run
from tests.conftest import ROOT

SURGE = ROOT / "experiments" / "teaching" / "surge.toml"
APRIL_6 = ROOT / "experiments" / "2021-04-06.toml"
FLOOD = (
    "--set",
    'attacks=[{name="flood", kind="application", target="login", start="08:50",'
    " duration_min=4, rate_per_s=40.0, bots=50}]",
    "--set",
    'services.login.crash={backlog_above=40, restart={kind="deterministic", value_s=120}}',
)
SURGE_MINUTES = 40  # 08:40 to 09:20


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _run(folder: Path, *args) -> Path:
    result = invoke("run", SURGE, "--out", folder, "--no-dashboard", *args)
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def surge(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("animate") / "surge")


@pytest.fixture(scope="module")
def flooded(tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp("animate") / "flooded", *FLOOD)


@pytest.fixture(scope="module")
def gif(surge: Path) -> Path:
    result = invoke("animate", surge)
    assert result.exit_code == 0, result.output
    assert "animation written to" in result.stdout and "40 frames" in result.stdout
    return surge / "animation.gif"


def _frames(path: Path) -> list[np.ndarray]:
    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB"), dtype=np.int16))
        return frames


def _timeseries(folder: Path) -> list[dict[str, str]]:
    with open(folder / "timeseries.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _index(folder: Path, clock: str) -> int:
    return [row["clock"] for row in _timeseries(folder)].index(clock)


# ---------------------------------------------------------------- the GIF


def test_gif_has_one_frame_per_simulated_minute(gif: Path) -> None:
    assert gif.read_bytes()[:6] == b"GIF89a"
    with Image.open(gif) as im:
        assert im.n_frames == SURGE_MINUTES
        assert im.size == (960, 540)
        assert im.info["duration"] == 250  # 4 frames per second
    assert not [p.name for p in gif.parent.iterdir() if p.name.startswith(".")]


def test_gif_is_not_blank_and_moves(gif: Path) -> None:
    frames = _frames(gif)
    for frame in (frames[0], frames[-1]):
        assert frame.std() > 20  # text, bars and lines on white, not a flat picture
        assert (frame.sum(axis=2) < 200).mean() > 0.005  # dark ink: text and axes
    changed = [np.abs(a - b).sum(axis=2).astype(bool).mean() for a, b in itertools.pairwise(frames)]
    assert min(changed) > 0  # the clock at least changes every minute
    blue = np.array([int(OKABE_ITO[0][i : i + 2], 16) for i in (1, 3, 5)])
    near_blue = np.abs(frames[18] - blue).sum(axis=2) < 30  # 08:58: login's bars are full
    assert near_blue.mean() > 0.02


def test_from_until_and_step(surge: Path, tmp_path: Path) -> None:
    out = tmp_path / "films" / "surge.gif"
    result = invoke(
        "animate", surge, "--out", out, "--from", "08:50", "--until", "09:00", "--step-min", 2
    )
    assert result.exit_code == 0, result.output
    with Image.open(out) as im:
        assert im.n_frames == 5  # 08:50, 08:52, ..., 08:58
    morning = load_morning(surge)
    assert frame_minutes(morning, "08:50", "09:00", 2) == [10, 12, 14, 16, 18]
    assert frame_minutes(morning, None, "08:45:30") == [0, 1, 2, 3, 4, 5]  # part of 08:45
    assert frame_minutes(morning) == list(range(SURGE_MINUTES))


def test_blitting_draws_what_a_full_redraw_draws(surge, tmp_path, monkeypatch) -> None:
    """The film's frames are blitted (the still part drawn once, the moving artists over
    it); a still is drawn whole. An artist missing from the moving ones would keep its
    first-frame look in the film, and one drawn in another order would differ here."""
    morning, minutes, grabbed = load_morning(surge), [16, 17, 18, 30], []
    blit = animate._Blitting._rgba

    def keep(self):
        buffer = blit(self)
        grabbed.append(np.asarray(buffer)[..., :3].copy())
        return buffer

    monkeypatch.setattr(animate._Blitting, "_rgba", keep)
    render(morning, minutes, tmp_path / "blit.gif")
    film = _frames(tmp_path / "blit.gif")
    for k, index in enumerate(minutes):
        still = frame_figure(morning, index, minutes)
        still.canvas.draw()
        whole = np.asarray(still.canvas.buffer_rgba())[..., :3]
        assert np.array_equal(grabbed[k], whole), index
        assert np.abs(film[k] - whole).mean() < 2.0  # the GIF: 256 colours (white is 254)


def test_funcanimation_saves_through_pillowwriter(surge: Path, tmp_path: Path) -> None:
    """animation() is a plain FuncAnimation, for notebooks: matplotlib's own save works."""
    morning = load_morning(surge)
    anim = animation(morning, [15, 16, 17], fps=2)
    anim.save(tmp_path / "plain.gif", writer=PillowWriter(fps=2))
    with Image.open(tmp_path / "plain.gif") as im:
        assert im.n_frames == 3 and im.info["duration"] == 500


# ---------------------------------------------------------------- what a frame shows


def _texts(fig: Figure, gid: str) -> list[str]:
    return [t.get_text() for t in fig.texts if t.get_gid() == gid]


def _people_axes(fig: Figure):
    return fig.axes[1]


def test_frame_title_is_the_clock(surge: Path) -> None:
    morning = load_morning(surge)
    fig = frame_figure(morning, _index(surge, "09:02"))
    assert _texts(fig, CLOCK) == ["09:02"]
    assert "teaching-surge, seed 1" in [t.get_text() for t in fig.texts]


def test_class_start_marked_and_announced(surge: Path) -> None:
    morning = load_morning(surge)
    fig = frame_figure(morning, _index(surge, "09:00"))
    starts = [
        line.get_xdata()[0]
        for line in _people_axes(fig).lines
        if line.get_gid() == CLASS_START_LABEL
    ]
    assert starts == [clock_to_s("09:00")]
    assert "class starts 09:00" in _texts(fig, STATUS)[0]
    assert _texts(frame_figure(morning, _index(surge, "08:50")), STATUS) == [""]


def test_no_attack_band_without_attacks(surge: Path) -> None:
    fig = frame_figure(load_morning(surge), 5)
    assert not [p for p in _people_axes(fig).patches if p.get_gid() == ATTACK_WAVE_LABEL]


def test_attack_window_shaded_and_announced(flooded: Path) -> None:
    morning = load_morning(flooded)
    assert [(a, b) for _, a, b in morning.attacks] == [(clock_to_s("08:50"), clock_to_s("08:54"))]
    fig = frame_figure(morning, _index(flooded, "08:51"))
    bands = [p for p in _people_axes(fig).patches if p.get_gid() == ATTACK_WAVE_LABEL]
    assert len(bands) == 1
    band = bands[0].get_bbox()
    assert (band.x0, band.x1) == (clock_to_s("08:50"), clock_to_s("08:54"))
    assert "under attack (flood)" in _texts(fig, STATUS)[0]
    later = frame_figure(morning, _index(flooded, "08:55"))
    assert "under attack" not in _texts(later, STATUS)[0]


def test_crash_announced_and_servers_down(flooded: Path) -> None:
    morning, rows = load_morning(flooded), _timeseries(flooded)
    crashes = [i for i, row in enumerate(rows) if int(row["login.crashes"])]
    down = [i for i, row in enumerate(rows) if float(row["login.mean_servers_up"]) == 0]
    assert crashes and down  # the flood crashes both login servers
    fig = frame_figure(morning, crashes[0])
    assert "crash (login)" in _texts(fig, STATUS)[0]
    assert _texts(fig, STATUS)[0].startswith("under attack (flood)")
    labels = [t.get_text() for t in fig.axes[0].texts if t.get_text()]
    assert any(label.endswith("crash!") for label in labels)
    fig = frame_figure(morning, down[0])
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels == ["login", "0.0 of 4", "0 of 120", "0.0 of 2"]  # the name, then the bars
    calm = frame_figure(morning, len(rows) - 1)
    assert _texts(calm, STATUS) == [""]


def test_bars_are_the_minute_means_of_the_timeseries(flooded: Path) -> None:
    """Busy workers, queue and servers up as shares of all the service's capacity, and
    the capacity of servers down: read from timeseries.csv and the scenario."""
    morning, rows = load_morning(flooded), _timeseries(flooded)
    for clock in ("08:45", "08:50", "08:51", "08:55", "09:04"):  # calm, crash, down, back
        i = _index(flooded, clock)
        row, ax = rows[i], frame_figure(morning, i).axes[0]
        up = float(row["login.mean_servers_up"])
        expected = [
            100 * float(row["login.mean_busy"]) / 4,  # 2 servers of 2 workers
            100 * float(row["login.mean_queue"]) / 120,  # 2 x 60 backlog places
            100 * up / 2,
        ]
        widths = [p.get_width() for p in ax.patches if p.get_gid() == FILL]
        assert widths == pytest.approx(expected, abs=1e-9), clock
        downs = [(p.get_x(), p.get_width()) for p in ax.patches if p.get_gid() == OFF]
        assert downs == [pytest.approx((50 * up, 100 - 50 * up), abs=1e-9)] * 3, clock
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["workers busy", "queue (backlog)", "servers up"]
    assert ax.get_xlabel().startswith("% of all capacity")


def test_people_lines_grow_to_the_clock(surge: Path) -> None:
    morning, rows = load_morning(surge), _timeseries(surge)
    i = _index(surge, "08:57")
    ax = _people_axes(frame_figure(morning, i))
    lines = {line.get_label(): line for line in ax.lines if not line.get_gid()}
    through = lines["got in: in class (so far)"]
    assert through.get_xdata()[-1] == clock_to_s("08:58")  # the end of minute 08:57
    assert through.get_ydata()[-1] == sum(int(r["reached"]) for r in rows[: i + 1])
    gave_up = lines["gave up (so far)"]
    assert gave_up.get_ydata()[-1] == sum(int(r["gave_up"]) for r in rows[: i + 1])
    assert "in a lesson (now)" not in lines  # the surge has no class step: no flat zero
    cursor = next(p for p in ax.patches if p.get_gid() == CURSOR)
    assert cursor.get_x() == clock_to_s("08:57") and cursor.get_width() == 60


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """6 April 2021 at 0.3 % scale: 24 services, crashes, generated attack waves."""
    result = run(scale(load_scenario(APRIL_6), 0.003).flat)
    folder = write_results(result, tmp_path_factory.mktemp("animate") / "national")
    return result, folder


def test_national_shows_the_six_most_troubled(national) -> None:
    result, folder = national
    morning = load_morning(folder)
    assert [s.name for s in morning.services] == shown_services(result)
    assert morning.hidden == len(result.services) - 6 > 0
    fig = frame_figure(morning, 0)
    assert fig.axes[0].get_xlabel().endswith(f"\n{morning.hidden} more services in summary.json")


def test_generated_waves_are_those_of_the_run(national) -> None:
    result, folder = national
    morning = load_morning(folder)
    assert len(result.attack_waves) > 1
    assert morning.attacks == [(w.name, w.start, w.end) for w in result.attack_waves]


def test_national_morning_renders(national, tmp_path: Path) -> None:
    _, folder = national
    result = invoke("animate", folder, "--out", tmp_path / "n.gif", "--step-min", 10)
    assert result.exit_code == 0, result.output
    morning = load_morning(folder)
    with Image.open(tmp_path / "n.gif") as im:
        assert im.n_frames == len(range(0, len(morning.bin_start_s), 10))


# ---------------------------------------------------------------- bad input


def _listing(*folders: Path) -> list[str]:
    return sorted(str(p) for folder in folders for p in folder.rglob("*"))


def _fails(args: list, *folders: Path, mentions: str) -> str:
    before = _listing(*folders)
    result = invoke("animate", *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert mentions in lines[0]
    assert _listing(*folders) == before, "something was written"
    return lines[0]


@pytest.mark.parametrize(
    ("options", "mentions"),
    [
        (["--from", "25:00"], "--from"),
        (["--from", "8h50"], "HH:MM"),
        (["--from", "08:00"], "between 08:40 and 09:20"),
        (["--until", "09:30"], "--until"),
        (["--from", "09:00", "--until", "08:50"], "--until 08:50 must come after --from 09:00"),
        (["--out", "film.avi"], ".gif, .mp4"),
        (["--out", "film"], ".gif, .mp4"),
        (["--fps", "0"], "--fps"),
        (["--fps", "51"], "1 to 50"),
        (["--step-min", "0"], "--step-min"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(surge, tmp_path, options, mentions) -> None:
    options = [tmp_path / o if o.startswith("film") else o for o in options]
    _fails([surge, *options], surge, tmp_path, mentions=mentions)


def test_mp4_without_ffmpeg_is_one_line(surge, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(animate.writers, "is_available", lambda name: False)
    _fails([surge, "--out", tmp_path / "film.mp4"], surge, tmp_path, mentions="ffmpeg")


@pytest.mark.skipif(not animate.writers.is_available("ffmpeg"), reason="ffmpeg not installed")
def test_mp4_with_ffmpeg(surge, tmp_path) -> None:
    result = invoke("animate", surge, "--out", tmp_path / "film.mp4", "--until", "08:45")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "film.mp4").stat().st_size > 1000


def test_not_a_results_folder(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    _fails([tmp_path / "empty"], tmp_path, mentions="not a results folder of sim run")
    _fails([tmp_path / "nowhere"], tmp_path, mentions="is not a folder")


def test_replications_folder(tmp_path) -> None:
    reps = tmp_path / "reps"
    result = invoke("run", SURGE, "--reps", 2, "--jobs", 1, "--out", reps)
    assert result.exit_code == 0, result.output
    assert not (reps / "timeseries.csv").exists()
    line = _fails([reps], tmp_path, mentions="timeseries.csv")
    assert "sim run without --reps" in line


def test_folder_missing_its_timeseries(surge, tmp_path) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("summary.json", "scenario.toml"):
        (partial / name).write_bytes((surge / name).read_bytes())
    _fails([partial], tmp_path, mentions="no timeseries.csv")
    json.loads((partial / "summary.json").read_text())  # the folder is untouched


def test_a_failed_write_leaves_nothing(surge, tmp_path, monkeypatch) -> None:
    def broken(self, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(animate._GifWriter, "grab_frame", broken)
    out = tmp_path / "film.gif"
    _fails([surge, "--out", out], surge, tmp_path, mentions="No space left on device")


def test_a_file_that_is_not_a_film_is_not_overwritten(surge, tmp_path) -> None:
    """``--out notes.gif`` on a file that is not a GIF (or a folder) is refused before
    drawing; a GIF there, the animation of an earlier run, is replaced."""
    notes = tmp_path / "notes.gif"
    notes.write_text("my notes")
    _fails([surge, "--out", notes], surge, tmp_path, mentions="not a GIF film, and would be lost")
    assert notes.read_text() == "my notes"
    (tmp_path / "dir.gif").mkdir()
    _fails([surge, "--out", tmp_path / "dir.gif"], surge, tmp_path, mentions="is not a file")
    film = tmp_path / "film.gif"
    inodes = []
    for _ in range(2):  # a new film, then the same name again: replaced
        result = invoke("animate", surge, "--out", film, "--until", "08:42")
        assert result.exit_code == 0, result.output
        inodes.append(film.stat().st_ino)
    assert inodes[0] != inodes[1]  # written anew, then renamed into place
    with Image.open(film) as im:
        assert im.format == "GIF"


@pytest.mark.parametrize(
    ("damage", "mentions"),
    [
        (lambda text: bytes(range(256)) * 8, "is not a table sim wrote"),
        (lambda text: text[: text.index(b"\n", 2000) + 40], "cells for"),
        (lambda text: text.replace(b",", b",x", 1).replace(b"\n", b"\n1,", 1), "cells for"),
    ],
    ids=["binary", "cut-short", "edited"],
)
def test_a_damaged_timeseries_is_one_line(surge, tmp_path, damage, mentions) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(surge, damaged)
    table = damaged / "timeseries.csv"
    table.write_bytes(damage(table.read_bytes()))
    _fails([damaged], tmp_path, mentions=mentions)


def test_load_morning_errors_are_animate_errors(tmp_path) -> None:
    with pytest.raises(AnimateError):
        load_morning(tmp_path)


def test_cli_default_fps_is_the_module_default() -> None:
    from sim.cli import animate as cli_animate

    assert cli_animate.DEFAULT_FPS == animate.DEFAULT_FPS
