"""An animation of one morning for a classroom screen: the clock ticks, queues fill,
servers fall over, and the people who meant to connect pile up against those who got in.

A still dashboard shows everything at once; a class follows a story better when it
unfolds minute by minute, the cause (a surge, an attack) just before its effect (full
queues, crashes, people giving up). Each frame is one time bin of the run's series (a
minute, unless the scenario's ``measure.bin_s`` says otherwise), or a step of them:

- the clock time, large, and what is happening now (an attack, a class start);
- per service (the six in most trouble at most, picked as the dashboard picks them): how
  full it is, as bars from 0 to 100 % of all its capacity: busy workers, queued
  requests, servers up, each labelled with its numbers, the capacity of servers that
  are down in dark grey;
- the people: intended to connect so far, got in, in a lesson now, gave up, drawn up to
  the clock, with the class starts and attack windows marked.

Everything comes from the files of a ``sim run`` results folder (``timeseries.csv``,
``summary.json``, ``scenario.toml``); nothing the model decides is simulated again. The
attack windows of generated waves are drawn again by the model's own generator from the
recorded seed and replication: the same draws, so the same windows. Figures are built on
:class:`matplotlib.figure.Figure` (never pyplot), with fixed axes positions so that
nothing jumps from one frame to the next, in the colours of :mod:`sim.outputs.plots.dashboard`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter, writers
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MultipleLocator
from matplotlib.transforms import blended_transform_factory
from PIL import Image

from sim.config import ScenarioError, clock_to_s, load_scenario, s_to_clock
from sim.engine.rng import Stream, Streams
from sim.measure.metrics import bin_noun
from sim.model.attacks import waves_of
from sim.outputs import atomic
from sim.outputs.plots.dashboard import (
    ATTACK_COLOUR,
    ATTACK_WAVE_LABEL,
    BLACK,
    CLASS_START_LABEL,
    GREY,
    OKABE_ITO,
    grid,
    lesson_starts_s,
    most_troubled,
)
from sim.outputs.plots.style import clock_step_s, hhmm
from sim.simulation.summary import Summary, SummaryError

ANIMATION = "animation.gif"
FORMATS = (".gif", ".mp4")
DEFAULT_FPS = 4
MAX_FPS = 50  # GIF frame delays are in 1/100 s: faster than 50 per second does not exist
SIZE_IN = (9.6, 5.4)  # 16:9, the shape of a projector
DPI = 100  # 960 x 540 pixels: text readable from the back row, a few MB for a morning
CLOCK = "clock"  # gid of the big clock title
STATUS = "status"  # gid of the line saying what happens now
CURSOR = "now"  # gid of the band marking the current minute
FILL = "fill"  # gid of the moving bars: how full a part of a service is
OFF = "down"  # gid of the moving dark bars: the capacity of servers down
BAR_ROWS = ("workers busy", "queue (backlog)", "servers up")  # per service, top down
PEOPLE_LINES = (  # column, label, colour, style; cumulative columns are summed
    ("intended", "meant to connect (so far)", BLACK, "-."),
    ("reached", "got in: in class (so far)", OKABE_ITO[2], "-"),
    ("in_lesson", "in a lesson (now)", OKABE_ITO[0], "-"),
    ("gave_up", "gave up (so far)", ATTACK_COLOUR, "--"),
)
CUMULATIVE = ("intended", "reached", "gave_up")
EMPTY = "#EEEEEE"  # the unfilled part of a bar: the capacity left
DOWN = "#888888"  # the capacity of servers that are down
VALUE = {  # the numbers on a bar: black on a pale box, readable on any colour
    "color": BLACK,
    "bbox": {"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 1.0},
}


class AnimateError(ValueError):
    """The folder or options cannot make an animation; the message is one line."""


@dataclass(frozen=True)
class ServiceFrames:
    """Per-bin state of one service, and its size from the scenario."""

    name: str
    colour: str
    queue: np.ndarray  # mean backlog (requests)
    busy: np.ndarray  # mean busy workers
    up: np.ndarray  # mean servers up
    crashes: np.ndarray  # crashes in the bin
    servers: float  # most servers it ever had (autoscaling adds some)
    workers_per_server: int
    backlog_per_server: int


@dataclass(frozen=True)
class Morning:
    """What an animation shows, read from one run's results folder."""

    name: str
    seed: int
    replication: int
    start_s: float
    end_s: float
    bin_start_s: np.ndarray
    bin_s: int  # the bins' width (s): timeseries.csv's bin_s (60 in older folders)
    people: dict[str, np.ndarray]  # PEOPLE_LINES columns, cumulated where they count
    services: list[ServiceFrames]
    hidden: int  # services left out (in summary.json)
    class_starts: list[float]
    attacks: list[tuple[str, float, float]]  # name, start, end (s since midnight)


# ---------------------------------------------------------------- reading a folder


def load_morning(folder: Path | str) -> Morning:
    """Read one run's results folder; :class:`AnimateError` if it is not one."""
    folder = Path(folder)
    summary = _summary(folder)
    for name in ("timeseries.csv", "scenario.toml"):
        if not (folder / name).is_file():
            raise AnimateError(
                f"RESULTS_DIR {folder} has no {name}: give the folder of one sim run "
                "(sim run without --reps)"
            )
    try:
        scenario = load_scenario(folder / "scenario.toml").flat
    except (ScenarioError, ValueError) as e:
        raise AnimateError(f"RESULTS_DIR {folder}: scenario.toml: {e}") from None
    table = _read_columns(folder / "timeseries.csv")
    seed, replication = int(summary.seed), int(summary.replication)
    # summary.json sorts its keys: the run's order of services is that of the columns
    order = [col.removesuffix(".mean_queue") for col in table if col.endswith(".mean_queue")]
    names = most_troubled([n for n in order if n in summary.services], summary.services)
    try:
        services = [_service(table, scenario, name, i) for i, name in enumerate(names)]
        people = {col: _column(table, col) for col, *_ in PEOPLE_LINES}
        bin_start_s, bin_s = _bins(table)
    except KeyError as e:
        raise AnimateError(f"RESULTS_DIR {folder}: timeseries.csv has no column {e}") from None
    if len(bin_start_s) == 0:  # a header alone: a truncated or emptied table
        raise AnimateError(f"RESULTS_DIR {folder}: timeseries.csv has no time bin to draw")
    for col in CUMULATIVE:
        people[col] = np.cumsum(people[col])
    waves = waves_of(scenario, Streams(seed, replication).get(Stream.ATTACKS, 0))
    return Morning(
        name=scenario.name,
        seed=seed,
        replication=replication,
        start_s=scenario.start_s,
        end_s=scenario.end_s,
        bin_start_s=bin_start_s,
        bin_s=bin_s,
        people=people,
        services=services,
        hidden=len(summary.services) - len(names),
        class_starts=lesson_starts_s(scenario),
        attacks=[(w.name, w.start, w.end) for w in waves],
    )


def _summary(folder: Path) -> Summary:
    """summary.json of a single run; replications, sweeps and the like are refused."""
    path = folder / "summary.json"
    if not folder.is_dir():
        raise AnimateError(f"RESULTS_DIR {folder} is not a folder")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise AnimateError(
            f"RESULTS_DIR {folder} is not a results folder of sim run (no readable summary.json)"
        ) from None
    if not Summary.recognises(data):
        raise AnimateError(
            f"RESULTS_DIR {folder} holds replications, not one run, and has no "
            "timeseries.csv: give the folder of one sim run (sim run without --reps)"
        )
    try:
        return Summary.from_json(data)
    except SummaryError as e:
        raise AnimateError(f"RESULTS_DIR {folder}: its summary.json: {e}") from None


def _read_columns(path: Path) -> dict[str, list[str]]:
    """The table's cells by column; :class:`AnimateError` for a file that is not the
    table sim wrote (binary, not UTF-8, or cut short: a row with too few cells)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as e:
        raise AnimateError(f"{path} is not a table sim wrote ({e.__class__.__name__})") from None
    if not rows:
        raise AnimateError(f"{path} is empty")
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise AnimateError(
                f"{path}: line {number} has {len(row)} cells for {len(header)} columns "
                "(the file was cut short or edited): run sim run again"
            )
    return {name: [row[i] for row in body] for i, name in enumerate(header)}


def _column(table: dict[str, list[str]], name: str) -> np.ndarray:
    """A column as floats; empty cells (no value that minute) are 0."""
    try:
        return np.array([float(v) if v else 0.0 for v in table[name]])
    except ValueError as e:
        raise AnimateError(f"timeseries.csv: column {name}: {e}") from None


def _bins(table: dict[str, list[str]]) -> tuple[np.ndarray, int]:
    """The bins' starts and width (s); a folder of older versions has ``minute_start_s``
    and no ``bin_s``: one-minute bins."""
    if "bin_start_s" not in table and "minute_start_s" in table:
        return _column(table, "minute_start_s"), 60
    starts, widths = _column(table, "bin_start_s"), _column(table, "bin_s")
    width = int(widths[0]) if len(widths) else 60
    if width < 1 or not np.all(widths == width):
        raise AnimateError(f"timeseries.csv: column bin_s: not one width of at least 1 s: {width}")
    return starts, width


def _service(table: dict[str, list[str]], scenario, name: str, index: int) -> ServiceFrames:
    spec = scenario.services[name]
    up = _column(table, f"{name}.mean_servers_up")
    return ServiceFrames(
        name=name,
        colour=OKABE_ITO[index % len(OKABE_ITO)],
        queue=_column(table, f"{name}.mean_queue"),
        busy=_column(table, f"{name}.mean_busy"),
        up=up,
        crashes=_column(table, f"{name}.crashes"),
        servers=max(float(spec.servers), float(up.max(initial=0.0))),
        workers_per_server=spec.workers_per_server,
        backlog_per_server=spec.backlog_per_server,
    )


# ---------------------------------------------------------------- choosing frames


def frame_minutes(
    morning: Morning, start: str | None = None, until: str | None = None, step_min: int = 1
) -> list[int]:
    """Indices of the time bins to draw (one frame each), from `start` (HH:MM, included)
    to `until` (excluded), every `step_min` minutes (a bin at least);
    :class:`AnimateError` names the bad option."""
    first, last = s_to_clock(morning.start_s), s_to_clock(morning.end_s)
    span = f"between {first} and {last}, the run's start and end"
    lo = _clock(start, "--from", span) if start else morning.start_s
    hi = _clock(until, "--until", span) if until else morning.end_s
    if not morning.start_s <= lo < morning.end_s:
        raise AnimateError(f"--from {start}: the run has no such minute; use HH:MM {span}")
    if not morning.start_s < hi <= morning.end_s:
        raise AnimateError(f"--until {until}: outside the run; use HH:MM {span}")
    if hi <= lo:
        raise AnimateError(f"--until {until} must come after --from {start or first}")
    if step_min < 1:
        raise AnimateError(f"--step-min {step_min}: use a whole number of minutes >= 1")
    width = morning.bin_s
    i0 = int((lo - morning.start_s) // width)
    i1 = min(math.ceil((hi - morning.start_s) / width), len(morning.bin_start_s))
    return list(range(i0, i1, max(1, round(60 * step_min / width))))


def _clock(text: str, option: str, span: str) -> float:
    try:
        return clock_to_s(text)
    except (AttributeError, ValueError):
        raise AnimateError(f"{option} {text!r} is not a clock time; use HH:MM {span}") from None


# ---------------------------------------------------------------- one frame


Update = Callable[[int], None]
Panel = tuple[Update, list[Artist]]  # moves the panel to a bin's index; what it moves


def build_figure(
    morning: Morning, minutes: list[int] | None = None
) -> tuple[Figure, Update, list[Artist]]:
    """The figure of the animation, the function that moves it to a bin's index, and
    the artists that move (everything else is the same in every frame).

    `minutes` (default: all) sets the time span of the people panel.
    """
    minutes = list(range(len(morning.bin_start_s))) if minutes is None else minutes
    fig = Figure(figsize=SIZE_IN, dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)  # drawn off screen, frame after frame
    clock = fig.text(0.5, 0.985, "", ha="center", va="top", fontsize=34, weight="bold", gid=CLOCK)
    status = fig.text(0.5, 0.865, "", ha="center", va="top", fontsize=14, gid=STATUS)
    fig.text(0.01, 0.985, _caption(morning), ha="left", va="top", fontsize=10, color=GREY)
    bars = fig.add_axes((0.15, 0.1, 0.31, 0.68))
    people = fig.add_axes((0.57, 0.1, 0.41, 0.68))
    panels = [
        _services_panel(bars, morning),
        _people_panel(people, morning, minutes),
        _headline(clock, status, morning),
    ]

    def update(index: int) -> None:
        for step, _ in panels:
            step(index)

    return fig, update, [artist for _, moving in panels for artist in moving]


def frame_figure(morning: Morning, index: int, minutes: list[int] | None = None) -> Figure:
    """One frame as a still figure: the bin `index` (an index into the run's bins)."""
    fig, update, _ = build_figure(morning, minutes)
    update(index)
    return fig


def _caption(morning: Morning) -> str:
    text = f"{morning.name}, seed {morning.seed}"
    if morning.replication:
        text += f", replication {morning.replication}"
    return text


def _headline(clock: Text, status: Text, morning: Morning) -> Panel:
    """The clock, and in a few words what is happening now: a class start, an attack, a
    crash (alarms in vermillion). Bins that do not start on a minute show the seconds."""
    width = morning.bin_s

    def update(index: int) -> None:
        t0, t1 = float(morning.bin_start_s[index]), float(morning.bin_start_s[index]) + width
        clock.set_text(hhmm(t0) if width % 60 == 0 else s_to_clock(t0))
        starts = [f"class starts {hhmm(s)}" for s in morning.class_starts if t0 <= s < t1]
        waves = [name for name, a, b in morning.attacks if a < t1 and b > t0]
        crashed = [s.name for s in morning.services if s.crashes[index] > 0]
        alarms = [_several(waves, "under attack", "waves"), _several(crashed, "crash", "services")]
        status.set_text(" · ".join(starts + [a for a in alarms if a]))
        status.set_color(ATTACK_COLOUR if any(alarms) else BLACK)

    return update, [clock, status]


def _several(names: list[str], what: str, plural: str) -> str:
    """``"crash (login)"``, ``"crash (3 services)"``, or nothing: one short line."""
    if not names:
        return ""
    return f"{what} ({names[0] if len(names) == 1 else f'{len(names)} {plural}'})"


def _services_panel(ax: Axes, morning: Morning) -> Panel:
    """Per service, three bars from 0 to 100 % of all its capacity, labelled with their
    numbers: busy workers, queued requests, servers up. The capacity of servers that are
    down (crashed, or not yet booted) is dark grey, so a crash shows as the bars
    shrinking into grey rather than as a service that looks full."""
    stride = len(BAR_ROWS) + 1  # a blank row above each service for its name
    bars, downs, texts = [], [], []
    for i, service in enumerate(morning.services):
        top = i * stride + 1
        _heading(ax, top - 0.9, service)
        for j in range(len(BAR_ROWS)):
            ax.barh(top + j, 100.0, color=EMPTY, height=0.8, zorder=1)
            bars.append(
                ax.barh(top + j, 0.0, color=service.colour, height=0.8, zorder=2, gid=FILL)[0]
            )
            downs.append(ax.barh(top + j, 0.0, color=DOWN, height=0.8, zorder=2, gid=OFF)[0])
            texts.append(ax.text(1.5, top + j, "", va="center", fontsize=10, zorder=3, **VALUE))
    rows = [i * stride + 1 + j for i in range(len(morning.services)) for j in range(len(BAR_ROWS))]
    ax.set_yticks(rows, [*BAR_ROWS] * len(morning.services), fontsize=10)
    ax.set_ylim(len(morning.services) * stride - 0.5, -0.5)  # first service on top
    ax.set_xlim(0.0, 100.0)
    ax.xaxis.set_major_locator(MultipleLocator(25.0))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f} %"))
    noun = bin_noun(morning.bin_s)
    ax.set_title(f"How full each service is (mean over the {noun})", fontsize=12)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    note = "% of all capacity; dark grey: servers down"
    if morning.hidden:
        note += f"\n{morning.hidden} more services in summary.json"
    ax.set_xlabel(note, color=GREY, fontsize=9)

    def update(index: int) -> None:
        k = 0
        for service in morning.services:
            up = _share(float(service.up[index]), service.servers)
            for used, text in _fill(service, index):
                bars[k].set_width(100.0 * used)
                downs[k].set_x(100.0 * up)
                downs[k].set_width(100.0 * (1.0 - up))
                texts[k].set_text(text)
                k += 1

    return update, [*bars, *downs, *texts]


def _heading(ax: Axes, y: float, service: ServiceFrames) -> None:
    """The service's name above its bars, in its colour."""
    where = blended_transform_factory(ax.transAxes, ax.transData)
    ax.text(0.0, y, service.name, transform=where, va="center", fontsize=11, weight="bold")
    ax.texts[-1].set_color(service.colour)


def _fill(service: ServiceFrames, index: int) -> list[tuple[float, str]]:
    """(share of all capacity used, label) of each bar of `service` in bin `index`."""
    workers = service.servers * service.workers_per_server
    places = service.servers * service.backlog_per_server
    busy, queue = float(service.busy[index]), float(service.queue[index])
    up = float(service.up[index])
    crash = "  crash!" if service.crashes[index] > 0 else ""
    return [
        (_share(busy, workers), f"{busy:.1f} of {workers:.0f}"),
        (_share(queue, places), f"{queue:.0f} of {places:.0f}"),
        (_share(up, service.servers), f"{up:.1f} of {service.servers:.0f}{crash}"),
    ]


def _share(part: float, whole: float) -> float:
    return min(1.0, part / whole) if whole > 0 else 0.0


def _people_panel(ax: Axes, morning: Morning, minutes: list[int]) -> Panel:
    """Cumulative people lines drawn up to the clock, a band on the current bin.

    A bin's counts are complete at its end, so the lines reach the band's right edge;
    they start from nobody at the run's start. The moving band and lines are drawn over
    everything else, as blitting draws them (:class:`_Blitting`), so that a still and a
    film frame are the same picture. "In class" is left out of a run without
    classes (its journeys end at a service), where it would be a misleading zero.
    """
    width = float(morning.bin_s)
    x = np.concatenate([[morning.start_s], morning.bin_start_s + width])
    lines, ys = {}, {}
    for col, label, colour, style in PEOPLE_LINES:
        if col == "in_lesson" and not morning.people[col].any():
            continue
        ys[col] = np.concatenate([[0.0], morning.people[col]])
        (lines[col],) = ax.plot([], [], color=colour, ls=style, lw=2.2, label=label, zorder=6)
    lo = float(morning.bin_start_s[minutes[0]]) if minutes else morning.start_s
    hi = float(morning.bin_start_s[minutes[-1]]) + width if minutes else morning.end_s
    top = max(float(v.max(initial=0.0)) for v in morning.people.values())
    ax.set_ylim(0.0, 1.35 * top + 1.0)  # headroom: the legend stays clear of the lines
    _mark_time(ax, morning)
    cursor = Rectangle((lo, 0.0), width, 1.0, transform=ax.get_xaxis_transform())
    cursor.set(color=GREY, alpha=0.25, lw=0, zorder=5.5, gid=CURSOR)  # over the legend (5)
    ax.add_patch(cursor)
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(MultipleLocator(clock_step_s(hi - lo)))
    ax.xaxis.set_major_formatter(FuncFormatter(hhmm))
    ax.set_xlabel("clock time (HH:MM)")
    ax.set_ylabel("people")
    ax.set_title("People", fontsize=12)
    grid(ax)
    ax.legend(loc="upper left", fontsize=10)

    def update(index: int) -> None:
        for col, line in lines.items():
            line.set_data(x[: index + 2], ys[col][: index + 2])
        cursor.set_x(float(morning.bin_start_s[index]))

    return update, [cursor, *lines.values()]


def _mark_time(ax: Axes, morning: Morning) -> None:
    """Class starts (dashed grey) and attack windows (light vermillion), as in plots.py."""
    for i, start in enumerate(morning.class_starts):
        label = CLASS_START_LABEL if i == 0 else "_nolegend_"
        ax.axvline(start, color=GREY, ls="--", lw=1.2, label=label, gid=CLASS_START_LABEL)
    for i, (_, start, end) in enumerate(morning.attacks):
        label = ATTACK_WAVE_LABEL if i == 0 else "_nolegend_"
        ax.axvspan(
            start, end, color=ATTACK_COLOUR, alpha=0.15, lw=0, label=label, gid=ATTACK_WAVE_LABEL
        )


# ---------------------------------------------------------------- the animation


def animation(morning: Morning, minutes: list[int], fps: int = DEFAULT_FPS) -> FuncAnimation:
    """The film as a FuncAnimation, for a notebook (``HTML(anim.to_jshtml())``) or a
    window: one frame per entry of `minutes` (indices of the run's time bins)."""
    fig, update, _ = build_figure(morning, minutes)
    return FuncAnimation(
        fig, update, frames=minutes, interval=1000.0 / fps, repeat=False, cache_frame_data=False
    )


class _Blitting:
    """Frames drawn as on screen with blitting: the still part of the figure is drawn
    once, then each frame pastes it back and draws only the moving artists. A full
    redraw (what ``FuncAnimation.save`` does) costs ~10 times more, mostly tick labels:
    for a three-hour morning, a few seconds instead of a minute."""

    fig: Figure

    def __init__(self, moving: list[Artist], fps: int):
        super().__init__(fps=fps)
        self.moving, self._still = moving, None
        self.complete = False  # set once every frame is grabbed

    def _rgba(self) -> memoryview:
        canvas = self.fig.canvas
        if self._still is None:
            for artist in self.moving:
                artist.set_animated(True)  # left out of the full draw
            canvas.draw()
            self._still = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._still)
        for artist in self.moving:
            self.fig.draw_artist(artist)
        return canvas.buffer_rgba()

    def _release(self) -> None:
        for artist in self.moving:
            artist.set_animated(False)  # the figure draws whole again, as a still


class _GifWriter(_Blitting, PillowWriter):
    """PillowWriter with blitting, keeping each frame as 256 colours (what a GIF stores
    anyway) rather than full RGB: a three-hour morning holds ~90 MB, not ~300 MB."""

    def grab_frame(self, **savefig_kwargs) -> None:
        rgba = Image.frombuffer("RGBA", self.frame_size, self._rgba(), "raw", "RGBA", 0, 1)
        self._frames.append(rgba.convert("RGB").quantize(method=Image.Quantize.FASTOCTREE))

    def finish(self) -> None:
        """Write the GIF, unless a frame failed: that error then goes up unmasked."""
        self._release()
        if self.complete:
            PillowWriter.finish(self)


class _Mp4Writer(_Blitting, FFMpegWriter):
    """FFMpegWriter with blitting: raw RGBA frames piped to ffmpeg."""

    def grab_frame(self, **savefig_kwargs) -> None:
        self._proc.stdin.write(self._rgba())

    def finish(self) -> None:
        """Close ffmpeg's pipe and wait for it, also after a failed frame."""
        self._release()
        FFMpegWriter.finish(self)


def check_format(out: Path) -> str:
    """The format of `out` from its extension; :class:`AnimateError` if unsupported."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        shown = suffix or "no extension"
        raise AnimateError(f"--out {out}: unknown format ({shown}); use one of .gif, .mp4")
    if suffix == ".mp4" and not writers.is_available("ffmpeg"):
        raise AnimateError(f"--out {out}: .mp4 needs ffmpeg, which is not installed; use .gif")
    return suffix


def render(morning: Morning, minutes: list[int], out: Path | str, fps: int = DEFAULT_FPS) -> Path:
    """Write the film of `minutes` to `out` (GIF, or MP4 through ffmpeg) through a
    temporary file in the same folder renamed into place: nobody sees half a film."""
    out = Path(out)
    suffix = check_format(out)
    fig, update, moving = build_figure(morning, minutes)
    writer = (_GifWriter if suffix == ".gif" else _Mp4Writer)(moving, fps)

    def film(tmp: str) -> None:
        with writer.saving(fig, tmp, DPI):
            for index in minutes:
                update(index)
                writer.grab_frame()
            writer.complete = True

    return atomic.replace_with(out, film, suffix=suffix, now=True)


def write_animation(
    folder: Path | str,
    out: Path | str | None = None,
    *,
    fps: int = DEFAULT_FPS,
    start: str | None = None,
    until: str | None = None,
    step_min: int = 1,
) -> tuple[Path, int]:
    """Animate the run in `folder` to `out` (default ``folder/animation.gif``); return the
    file and its number of frames. Every input is checked before anything is drawn."""
    folder = Path(folder)
    target = Path(out) if out is not None else folder / ANIMATION
    check_format(target)
    if not 1 <= fps <= MAX_FPS:
        raise AnimateError(f"--fps {fps}: use a whole number of frames per second, 1 to {MAX_FPS}")
    morning = load_morning(folder)
    minutes = frame_minutes(morning, start, until, step_min)
    return render(morning, minutes, target, fps), len(minutes)
