"""Terminal tables at 80 columns (a small terminal, a CI log, ``| cat``): no cell cut or
ellipsised, no line wider than 80, every label whole (on one line, or a column header
wrapped at spaces), every number whole on one line (words, such as what a missing value
means, may wrap in their cell), and a unit written the same way in every table (after
the value); a difference signed, a share's in points.

Each table is rendered with the data of a large scenario (the long service names and
the missing percentile of 6 April, a sweep of two parameters, an options study with
long option names), where the tables used to be cut or wrapped mid-value.
"""

from __future__ import annotations

import io
import math
import re
import subprocess
import sys
from types import SimpleNamespace

from rich.console import Console

from sim.cli import common as cli
from sim.cli import options as cli_options
from sim.cli import sweep as cli_sweep
from sim.cli.experiments import print_estimates
from sim.experiments.compare import Difference
from sim.experiments.execution import Estimate, estimate
from sim.measure import metrics as registry
from sim.measure.metrics import KEY_FIGURES
from sim.outputs.tables import (
    Column,
    difference_interval_text,
    difference_text,
    interval_text,
    plus_minus_text,
    print_table,
    table_label,
    value_text,
)
from tests.conftest import ROOT, sim_env

WIDTH = 80
LONG_SERVICES = (
    "centre_val_de_loire/portal",
    "auvergne_rhone_alpes/portal",
    "provence_alpes_cote_d_azur/portal",
    "cned_join",
)


def console(width: int = WIDTH) -> Console:
    return Console(file=io.StringIO(), width=width, color_system=None, emoji=False)


def text_of(c: Console) -> str:
    return c.file.getvalue()


def headers(text: str) -> list[str]:
    """The headers of every grid table of `text`, each column's wrapped lines joined."""
    found, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if not line.lstrip().startswith("┏"):
            continue
        rows = []
        for below in lines[i + 1 :]:
            if not below.lstrip().startswith("┃"):
                break
            rows.append([piece.strip() for piece in below.strip().strip("┃").split("┃")])
        for column in zip(*rows, strict=True):
            found.append(" ".join(p for p in column if p))
    return found


def grid_columns(text: str) -> list[str]:
    """The cells of each column of every grid of `text`, read down and joined by spaces:
    a cell of words wrapped over two lines reads whole here."""
    found, run = [], []
    for line in [*text.splitlines(), ""]:
        if line.lstrip().startswith("│"):
            run.append([piece.strip() for piece in line.strip().strip("│").split("│")])
            continue
        found += [" ".join(p for p in column if p) for column in zip(*run, strict=True)]
        run = []
    return found


def assert_readable(text: str, labels: list[str], values: list[str] = ()) -> None:
    """No cut cell, no line over 80, every label whole, every value whole on a line (or,
    for words, in its cell)."""
    assert "…" not in text, text
    assert all(len(line) <= WIDTH for line in text.splitlines()), text
    whole = headers(text)
    for name in labels:
        assert name in whole or any(name in line for line in text.splitlines()), (name, text)
    columns = grid_columns(text)
    for value in values:
        in_line = any(value in line for line in text.splitlines())
        assert in_line or any(value in column for column in columns), (value, text)


def test_values_carry_their_unit_after_them_the_same_way() -> None:
    assert value_text("kpi.share_in_class", 0.9583) == "95.8 %"
    assert value_text("kpi.time_to_class_p95_s", 15.64) == "15.6 s"
    assert value_text("kpi.worst_unavailable_minutes", 12.0) == "12 min"
    assert value_text("kpi.people", 55397.0) == "55,397"  # never 5.54e+04
    assert value_text("kpi.time_to_class_p95_s", None).startswith("unbounded")
    assert interval_text("kpi.share_in_class", 0.951, 0.964) == "95.1 .. 96.4 %"
    assert plus_minus_text("kpi.share_in_class", 0.99962, 0.00113) == "99.96 ± 0.11 %"
    assert plus_minus_text("kpi.time_to_class_p95_s", 1.503, 0.316) == "1.50 ± 0.32 s"
    # the label of a table leaves the unit to the value: "(min)" is not said twice
    assert table_label("kpi.worst_unavailable_minutes") == "longest unavailability of any service"


def test_a_table_too_wide_for_the_screen_is_stacked_not_cut() -> None:
    columns = [Column("option"), *(Column(f"a long column label number {i}") for i in range(6))]
    rows = [["an option with a long name", *(f"{i}.123 ± 0.456 %" for i in range(6))]]
    c = console()
    print_table(c, "title", columns, rows)
    assert_readable(text_of(c), [col.header for col in columns[1:]], rows[0])
    wide = console(300)
    print_table(wide, "title", columns, rows)  # on a wide screen: one grid, one line a row
    assert "┏" in text_of(wide) and sum(rows[0][0] in line for line in text_of(wide).splitlines())


def run_result(p95: float | None) -> SimpleNamespace:
    kpi = {m.removeprefix("kpi."): 0.5 for m in KEY_FIGURES}
    kpi.update(people=5_540_030, in_class=4_455_120, gave_up=1_000_000, attempts=33_000_000)
    kpi["time_to_class_p95_s"] = p95
    service = {"utilization": 0.234, "p95_wait_s": 8.41, "unavailable_minutes": 130}
    return SimpleNamespace(
        kpi=kpi,
        service_summary={name: dict(service) for name in LONG_SERVICES * 3},
        scenario=SimpleNamespace(name="2021-04-06", scale=1.0),
        seed=20210406,
        events=1_492_402,
        wall_s=13.8,
    )


def test_sim_run_table_at_80_columns(monkeypatch) -> None:
    c = console()
    monkeypatch.setattr(cli, "out", c)
    cli.print_kpis(run_result(None))
    text = text_of(c)
    labels = [table_label(m) for m in KEY_FIGURES] + list(LONG_SERVICES)
    labels += list(registry.SERVICE_COLUMNS.values())
    assert_readable(text, labels, ["unbounded: more than 5 % never got in", "130 min", "5,540,030"])


def estimates_for(names) -> dict[str, Estimate]:
    return {name: Estimate(5, 1234.5678 if "people" in name else 0.4321, 0.0123) for name in names}


def mean_and_interval(metric: str, est: Estimate) -> str:
    """A cell of the sweep and options tables: the mean, then its interval as estimated
    (within the metric's range, so not always symmetric)."""
    return f"{value_text(metric, est.mean)} ({interval_text(metric, est.low, est.high)})"


def test_sim_run_reps_table_at_80_columns() -> None:
    c = console()
    ests = estimates_for(KEY_FIGURES)
    print_estimates(c, "2021-04-06: 5 replications (seed 20210406)", ests, list(KEY_FIGURES))
    text = text_of(c)
    assert not re.search(r"\de[+-]\d", text), text  # no exponent to decode
    values = [interval_text(m, e.low, e.high) for m, e in ests.items()]
    assert_readable(text, [table_label(m) for m in KEY_FIGURES], values)


def test_an_unbounded_mean_says_in_how_many_replications(monkeypatch) -> None:
    """Two of three mornings where more than 5 % never got in make the mean of the 95th
    percentile unbounded: the table says so of 2 of 3, not as if of every one; the
    scaled runs' title says their scale, at 80 columns."""
    c = console()
    ests = estimates_for(KEY_FIGURES)
    ests["kpi.time_to_class_p95_s"] = estimate([None, 30.0, None], "kpi.time_to_class_p95_s")
    title = cli.scaled_title("2021-04-06: 3 replications (seed 20210406)", 0.01)
    print_estimates(c, title, ests, list(KEY_FIGURES))
    said = "unbounded in 2 of 3 replications: more than 5 % never got in"
    assert_readable(text_of(c), [title, said])
    c = console()
    monkeypatch.setattr(cli, "out", c)
    result = run_result(None)
    result.scenario.scale = 0.01
    cli.print_kpis(result)
    assert_readable(text_of(c), ["2021-04-06 (seed 20210406) at --scale 0.01 (1 % of the people)"])


def test_sim_sweep_table_at_80_columns(monkeypatch) -> None:
    c = console()
    monkeypatch.setattr(cli_sweep, "out", c)
    paths = ("services.login.servers", "sources.arrivals.rate_per_s")
    estimates = [
        (tuple(zip(paths, (servers, rate), strict=True)), estimates_for(registry.SWEEP_COLUMNS))
        for servers in (4, 5)
        for rate in (6.0, 7.5)
    ]
    base = SimpleNamespace(name="teaching-single-queue", seed=1, scale=1.0)
    cli_sweep._print_variants(base, estimates, 5)
    text = text_of(c)
    cells = [mean_and_interval(m, e) for m, e in estimates_for(registry.SWEEP_COLUMNS).items()]
    labels = [table_label(m) for m in registry.SWEEP_COLUMNS] + ["servers", "rate_per_s"]
    assert_readable(text, labels, cells)


def test_sim_compare_table_at_80_columns(monkeypatch) -> None:
    c = console()
    monkeypatch.setattr(cli_sweep, "out", c)
    names = [*registry.HEADLINE, "services.provence_alpes_cote_d_azur/portal.p95_wait_s"]
    diffs = {n: Difference(0.5, 0.25, Estimate(10, -0.25, 0.01)) for n in names}
    scenario = SimpleNamespace(name="2021-04-06-long-name-of-a-scenario", seed=20210406, scale=1.0)
    cli_sweep._print_differences(scenario, scenario, diffs)
    assert_readable(text_of(c), [table_label(n) for n in names])


def test_sim_options_table_at_80_columns(monkeypatch) -> None:
    c = console()
    monkeypatch.setattr(cli_options, "out", c)
    metrics = (*registry.OPTIONS_COLUMNS, "kpi.time_to_class_p95_s")
    names = (
        "baseline",
        "Parents off the workspaces 07:30-17:30",
        "Portals x2 and filtering in 5 min",
    )
    results = [
        SimpleNamespace(
            name=name,
            estimates=estimates_for(metrics),
            differences={m: Difference(0.5, 0.4, Estimate(3, -0.1, 0.05)) for m in metrics},
            check=SimpleNamespace(verdict="fails"),
            meets_target=False,
            robust=None,
        )
        for name in names
    ]
    target = SimpleNamespace(metric="kpi.time_to_class_p95_s", op="<=")
    study = SimpleNamespace(
        name="2021-04-06-options",
        reps=3,
        target=target,
        spec=SimpleNamespace(target="time_to_class_p95_s<=120"),
        baseline=SimpleNamespace(seed=20210406, scale=1.0),
    )
    cli_options._print_options(study, results)
    labels = [*names, *(table_label(m) for m in registry.OPTIONS_COLUMNS)]
    values = [mean_and_interval(m, e) for m, e in estimates_for(registry.OPTIONS_COLUMNS).items()]
    assert_readable(text_of(c), labels, values)


def test_sim_run_piped_at_80_columns(tmp_path) -> None:
    """The real command, its stdout a pipe: plain text, no escape codes, nothing cut."""
    no_plot = ["--no-dashboard", "--out", str(tmp_path / "run")]
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", "experiments/teaching/single_queue.toml", *no_plot],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=sim_env(COLUMNS="80"),
        check=True,
    )
    assert "\x1b" not in done.stdout
    about_nobody = [m for m in KEY_FIGURES if m.startswith("kpi.by_role.") or m == "kpi.barred"]
    shown = [table_label(m) for m in KEY_FIGURES if m not in about_nobody]  # no roles here
    assert_readable(done.stdout, shown, ["login"])
    assert not any(table_label(m) in done.stdout for m in about_nobody)


def test_a_long_value_wraps_in_its_cell_and_the_table_keeps_its_box_and_header() -> None:
    """A KPI table with a long value ("unbounded: ...") does not fit one line a row at 80
    columns: the words of that value wrap in their cell, never between "5" and "%", and
    the table keeps its box and its header (it lost both, printed as bare pairs)."""
    c = console()
    label = "in class by class start + 5 min, teachers"
    unbounded = value_text("kpi.time_to_class_p95_s", None)
    rows = [[label, "93.5 %"], ["time to class, 95th percentile", unbounded]]
    print_table(c, "a morning", [Column("KPI"), Column("value", right=True)], rows)
    text = text_of(c)
    assert_readable(text, [label], ["93.5 %", unbounded])
    assert headers(text) == ["KPI", "value"]
    assert any(label in line and line.rstrip(" │").endswith("93.5 %") for line in text.splitlines())
    assert not any(line.rstrip(" │").endswith(("5", "%")) for line in text.splitlines()[5:-1])
    assert unbounded not in text  # wrapped: the grid is 80 columns, not wider


def test_differences_are_signed_and_a_shares_are_in_points() -> None:
    """As in the report: "+4.7 points", not "4.7 %", which reads as a share."""
    assert difference_text("kpi.share_in_class", 0.047) == "+4.7 points"
    assert difference_text("kpi.share_in_class", -0.885) == "\u221288.5 points"
    assert difference_text("kpi.time_to_class_p50_s", -155.2) == "\u2212155 s"
    assert difference_text("kpi.gave_up", -2391) == "\u22122,391"
    assert difference_text("kpi.gave_up", 0.0) == "0"
    assert difference_text("kpi.time_to_class_p95_s", math.nan) == "undefined"
    assert difference_interval_text("kpi.share_in_class", 0.262, 0.694) == "+26.2 .. +69.4 points"
    assert difference_interval_text("kpi.time_to_class_p50_s", -505, 196) == "\u2212505 .. +196 s"


def test_a_wait_in_the_histograms_first_bucket_reads_below_a_tenth_of_a_millisecond() -> None:
    """A service nobody waited for has a 95th percentile wait of 0.1 ms, the value the
    histogram's first bucket stands for: "< 0.1 ms", not "0.0001 s"."""
    assert value_text("services.portal.p95_wait_s", 1e-4) == "< 0.1 ms"
    assert value_text("services.portal.p95_wait_s", 0.00106) == "0.00106 s"
    assert value_text("services.portal.p95_wait_s", 0.0) == "0 s"  # no request waited
    assert value_text("kpi.time_to_class_p50_s", 1e-4) == "0.0001 s"  # not a histogram's


def summary_of(unavailable: list[int]) -> dict[str, dict]:
    return {
        f"service_{i}": {"utilization": 0.01 * i, "p95_wait_s": 1e-4, "unavailable_minutes": m}
        for i, m in enumerate(unavailable)
    }


def test_of_many_services_only_those_in_trouble_are_said_to_be() -> None:
    """ "The 8 services in the most trouble" listed idle services: only services that
    were unavailable are said to be in trouble; without any, the busiest, called so."""
    title, rows, more = cli.services_shown(summary_of([0] * 7 + [3, 0, 5] + [0] * 14))
    assert title == "the 2 services that were unavailable"
    assert [name for name, _ in rows] == ["service_9", "service_7"]
    assert more == "22 more services in summary.json, none unavailable"
    title, rows, more = cli.services_shown(summary_of([1] * 12))
    assert title == "the 8 services unavailable longest" and len(rows) == 8
    assert more == "4 more services in summary.json"
    title, rows, _ = cli.services_shown(summary_of([0] * 24))
    assert title == "the 8 busiest services (none was unavailable)"
    assert [name for name, _ in rows] == [f"service_{i}" for i in range(23, 15, -1)]
    assert cli.services_shown(summary_of([0] * 3))[0] == "services"  # few: all of them


def test_the_tables_histogram_floor_is_the_monitors() -> None:
    """The tables copy the floor (the monitor imports numpy, ``sim --help`` must not)."""
    from sim.engine.monitor import MIN_LATENCY_S
    from sim.outputs import tables

    assert tables.MIN_LATENCY_S == MIN_LATENCY_S


def validate_rows() -> list:
    from sim.experiments.validate.checks import Row

    params = {"lam": 8.0, "mu": 1.0, "c": 10, "minutes": 5}
    return [
        Row("little", params, "L_q / (lambda W_q), per run", 1.0, 1.0, 1.0, 1.0, True,
            "theory in CI (+-1e-09 rel.)"),
        Row("little", params, "mean busy workers = lambda E[S]", 0.6, 0.60624, 0.579, 0.63349,
            True, "theory in CI"),
    ]  # fmt: skip


def test_sim_validate_at_80_columns(monkeypatch) -> None:
    """validate's table is laid out like the others: a metric's name whole on one line,
    "95 % CI" as everywhere else, each row's numbers to the same decimals."""
    from sim.cli import validate as cli_validate

    c = console()
    monkeypatch.setattr(cli_validate, "out", c)
    cli_validate._print_rows(validate_rows(), 3, 0.95, 2.4)
    text = text_of(c)
    names = [row.metric for row in validate_rows()]
    assert_readable(text, [*names, "95 % CI"], ["0.60000", "0.60624", "0.57900 .. 0.63349"])
    assert "95% CI" not in text


def test_a_tables_title_never_breaks_inside_its_seed() -> None:
    c = console()
    title = "A = teaching-surge, B = teaching-surge: B − A over 3 paired replications (seed 1)"
    print_table(c, title, [Column("KPI"), Column("value", right=True)], [["people", "5,000"]])
    assert "(seed 1)" in text_of(c), text_of(c)


def test_a_cell_of_words_wraps_into_even_lines() -> None:
    """Not "unbounded: more than 5 % never got" over a lone "in"."""
    c = console()
    unbounded = value_text("kpi.time_to_class_p95_s", None)
    rows = [
        ["in class by class start + 5 min, pupils", "93.5 %"],
        ["time to class, 95th percentile", unbounded],
    ]
    print_table(c, "a morning", [Column("KPI"), Column("value", right=True)], rows)
    wrapped = [line.strip(" │") for line in text_of(c).splitlines() if "│" in line]
    tail = [cells.split("│")[-1].strip() for cells in wrapped]
    lengths = [len(t) for t in tail if t and t not in ("93.5 %", "value")]
    assert len(lengths) == 2 and max(lengths) - min(lengths) <= 6, text_of(c)
