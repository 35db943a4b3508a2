"""What a report says about the scenario behind the results, and how to rerun it.

A results folder keeps the *resolved* scenario (``scenario.toml``: defaults filled,
overrides applied), which reruns exactly but has lost the comments where the authors
wrote their assumptions and sources. So the report shows what can still be read from
it (the description, the size of the morning, every attack and every defence or failure
mechanism switched on), points to the original file when the folder's manifest names
one (with its opening notes, if the file is found), and says so when nothing does.

The scenario is read through the model (:func:`sim.config.load_scenario`), as the run
read it: every value shown is the model's, defaults included, and none is restated here.
Strings out; :mod:`sim.outputs.report.html` escapes them.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sim.config import (
    Gate,
    Link,
    Scenario,
    Service,
    catalog,
    clock_to_s,
    load_scenario,
    to_dict,
)
from sim.config.scale import scale_words
from sim.experiments.replications import ReplicationsSummary
from sim.outputs.report import html as h
from sim.outputs.report.option_words import what_it_is
from sim.simulation.summary import Summary

DEFAULT_SCENARIO = catalog.DEFAULT  # the example `sim run` etc. use without a file
MAX_DIFFERENCES = 30
MAX_NOTE_LINES = 400

SERVICE_MECHANISMS = {  # field of a service: (what it means, defence or failure mechanism)
    "slowdown": ("servers slow down beyond a load knee", "mechanism"),
    "crash": ("servers crash when their backlog overflows, and restart later", "mechanism"),
    "autoscale": ("autoscaling: servers added after a boot delay", "defence"),
    "rate_limit": ("rate limiting per source address", "defence"),
    "scrubbing": ("filtering of attack requests after a detection delay", "defence"),
    "priority": ("priority classes for some roles", "defence"),
    "drop_abandoned": ("queued requests whose client left are dropped", "defence"),
}


def load(path: Path) -> Scenario:
    """The scenario of a results folder as the model read it: validated, every default
    filled by the schema itself, so that the report never restates one (and never shows
    a value other than the one the run had)."""
    return load_scenario(path)


def overview(sc: Scenario) -> str:
    """One sentence on the size of the morning: period, people, services, behaviour."""
    people = sum(c.count for c in sc.cohorts)
    roles: dict[str, int] = {}
    for c in sc.cohorts:
        roles[c.role] = roles.get(c.role, 0) + c.count
    split = ", ".join(f"{n:,} {r}s" if r != "other" else f"{n:,} others" for r, n in roles.items())
    text = f"From {sc.start} to {sc.end}: {people:,} people ({split}) "
    text += f"in {len(sc.cohorts)} cohort{'s' * (len(sc.cohorts) != 1)}"
    if sc.sources:
        text += f", plus random arrivals from {', '.join(s.name for s in sc.sources)}"
    services = [f"{n} ({s.servers} server{'s' * (s.servers != 1)})" for n, s in sc.services.items()]
    shown = _names(services, 6)
    text += f"; services: {shown or 'none at the top level'}"
    if sc.platforms:
        templates = sorted({p.template for p in sc.platforms.values()})
        text += f"; {len(sc.platforms)} platforms built from {', '.join(templates)}"
    b = sc.behaviour
    mean = getattr(b.patience, "mean_s", None)
    wait = f"{mean:g} s on average" if mean is not None else b.patience.kind
    return (
        f"{text}. A person gives up a request after {wait}, retries with probability "
        f"{b.retry_probability}, up to {b.max_attempts} attempts per step."
    )


def _services(sc: Scenario) -> Iterator[tuple[str, Service]]:
    yield from sc.services.items()
    for t, template in sc.templates.items():
        for name, svc in template.services.items():
            yield f"{name} (template {t})", svc


def _gates(sc: Scenario) -> Iterator[tuple[str, Gate]]:
    """Gates at the top level and in templates."""
    yield from sc.gates.items()
    for t, template in sc.templates.items():
        for name, gate in template.gates.items():
            yield f"{name} (template {t})", gate


def _links(sc: Scenario) -> Iterator[tuple[str, Link]]:
    """Links at the top level and in templates."""
    yield from sc.links.items()
    for t, template in sc.templates.items():
        for name, link in template.links.items():
            yield f"{name} (template {t})", link


def mechanisms(sc: Scenario) -> dict[str, list[str]]:
    """Attacks, failure mechanisms and defences switched on, one line each."""
    found: dict[str, list[str]] = {"attacks": [], "mechanism": [], "defence": []}
    for field, (meaning, group) in SERVICE_MECHANISMS.items():
        where = [name for name, svc in _services(sc) if getattr(svc, field)]
        if where:
            found[group].append(f"{meaning[0].upper()}{meaning[1:]}: {_names(where)}")
    scrubbed = [name for name, link in _links(sc) if link.scrubbing]
    if scrubbed:
        found["defence"].append(f"Filtering of volumetric floods on links: {_names(scrubbed)}")
    for name, gate in _gates(sc):
        limits = []
        if gate.max_new_per_s is not None:
            limits.append(f"at most {gate.max_new_per_s:g} new sessions/s")
        if gate.max_sessions is not None:
            limits.append(f"at most {gate.max_sessions:,} sessions at once")
        if limits:
            found["defence"].append(f"Waiting room / quota {name}: {', '.join(limits)}")
        if gate.blocked_roles:
            roles = ", ".join(gate.blocked_roles)
            window = f"{gate.blocked_from}-{gate.blocked_until}"
            found["defence"].append(f"Gate {name} refuses role(s) {roles} during {window}")
    owners = [("scenario", sc.behaviour)]
    owners += [(c.name, c.behaviour) for c in sc.cohorts]
    owners += [(s.name, s.behaviour) for s in sc.sources]
    for field, meaning in (
        ("retry_budget", "Retry budget"),
        ("circuit_breaker", "Circuit breaker"),
    ):
        where = [owner for owner, b in owners if b is not None and getattr(b, field)]
        if where:
            found["defence"].append(f"{meaning} in the client app: {_names(where)}")
    staggered: dict[str, list[str]] = {}  # cohorts grouped by their class starts
    for c in sc.cohorts:
        if len(c.class_starts) > 1:
            staggered.setdefault(", ".join(c.class_starts), []).append(c.name)
    for starts, names in staggered.items():
        found["defence"].append(f"Staggered class starts ({starts}): {_names(names)}")
    for a in sc.attacks:
        size = (
            f"{a.gbps:g} Gbit/s"
            if a.kind == "volumetric"
            else f"{a.rate_per_s:g} requests/s from {a.bots:,} addresses"
        )
        found["attacks"].append(
            f"{a.name}: {a.kind} flood on {a.target} at {a.start} for {a.duration_min} min, {size}"
        )
    for g in sc.attack_generators:
        found["attacks"].append(
            f"{g.name}: {g.waves} {g.kind} waves on {g.target} "
            f"starting between {g.first} and {g.last}"
        )
    return found


def _names(names: list[str], shown: int = 8) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def differences(a: Scenario, b: Scenario) -> list[str]:
    """Every field where B differs from A, as ``path: a → b`` (seeds are equal by design),
    defaults included: a field one side leaves at its default differs all the same."""
    fa, fb = _flatten(to_dict(a)), _flatten(to_dict(b))
    lines = [
        f"{path}: {fa.get(path, 'absent')} → {fb.get(path, 'absent')}"
        for path in sorted(fa.keys() | fb.keys())
        if fa.get(path) != fb.get(path)
    ]
    if len(lines) > MAX_DIFFERENCES:
        lines = [*lines[:MAX_DIFFERENCES], f"... and {len(lines) - MAX_DIFFERENCES} more"]
    return lines


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to scalar values; named list entries (cohorts, ...) by name."""
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list) and data and all(isinstance(e, dict) for e in data):
        items = [(e.get("name", str(i)), e) for i, e in enumerate(data)]
    else:
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in items:
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def scenario_files(command: list[str] | None, manifest: dict[str, Any]) -> list[str]:
    """The scenario files a command line names (the default one if it names none)."""
    if "a" in manifest and "b" in manifest:  # a comparison records both sides
        return list(dict.fromkeys([manifest["a"], manifest["b"]]))
    if "study" in manifest:  # an options study: its file, then the scenario it names
        return [f for f in (manifest["study"], manifest.get("scenario_file")) if f]
    if not command or command[0] != "sim":  # none, or a Python call (``sim.sweep(...)``)
        return []
    files = [t for t in command[2:] if t.endswith(".toml") and "=" not in t]
    first = command[2] if len(command) > 2 else ""  # the scenario argument, if any
    if not files and first in catalog.examples():  # a shipped example, by its name
        files = [first]
    return files[:1] or [DEFAULT_SCENARIO]


def notes(path: Path) -> str | None:
    """The comment block that opens a scenario file (where its authors explain it)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    block = []
    for line in lines[:MAX_NOTE_LINES]:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        block.append(stripped.removeprefix("#").removeprefix(" "))
    text = "\n".join(block).strip()
    return text or None


def assumptions(folder: Path, kind: str, command: list[str] | None, manifest: dict) -> str:
    """Description, size of the morning, attacks and defences switched on, what was varied,
    and where the original scenario file (with its comments) is, if anywhere."""
    if kind == "compare":
        a, b = load(folder / "scenario_a.toml"), load(folder / "scenario_b.toml")
        parts = ["<h3>Scenario A</h3>", _scenario(a), "<h3>B differs from A in</h3>"]
        parts.append(h.bullets(differences(a, b) or ["nothing: the two scenarios are the same"]))
        if mechanisms(b) != mechanisms(a):
            parts += ["<h3>Scenario B</h3>", _mechanisms(mechanisms(b))]
    elif (folder / "scenario.toml").is_file():
        parts = [_scenario(load(folder / "scenario.toml"))]
    else:
        parts = [h.paragraphs(["The folder holds no scenario.toml."])]
    if kind == "sweep" and manifest.get("vary"):
        design = manifest.get("design", "grid")
        if design != "grid":
            design = f"a Latin hypercube sample of {manifest.get('sample')} points"
        parts.append(h.paragraphs([f"Varied ({design}), on top of the scenario above:"]))
        parts.append(h.bullets(manifest["vary"]))
    if kind == "plan":
        p = json_file(folder / "plan.json")
        parts.append(
            h.paragraphs(
                [
                    f"Searched: {p['parameter']} from {p['range'][0]} to {p['range'][1]} "
                    f"({p['candidates']} values) for {p['target_text']}, at "
                    f"{p['confidence'] * 100:g} % one-sided confidence, {p.get('reps', '?')} "
                    f"replications per probe (up to {p.get('max_reps', '?')} while unsure)."
                ]
            )
        )
    if kind == "options":
        parts.append(_options(json_file(folder / "options.json")))
    return "".join(parts) + _originals(folder, command, manifest)


def _options(study: dict[str, Any]) -> str:
    """Each option in words (its description); its exact changes are in the appendix."""
    items = [f"{o['name']}: {what_it_is(o)}" for o in study["options"][1:]]
    intro = (
        "The options, each applied on its own to the scenario above "
        "(their exact changes are in the appendix, at the end):"
    )
    if study.get("description"):
        intro = f"{study['description']} {intro}"
    return h.paragraphs([intro]) + h.bullets(items)


def _scenario(sc: Scenario) -> str:
    description = sc.description or "The scenario has no description."
    said = [f"{sc.name}: {description}", overview(sc)]
    if words := scale_words(sc.scale):
        said.append(
            f"Scaled {words}: the people and capacities above are the scaled ones, the "
            "description is the full scenario's."
        )
    text = h.paragraphs(said)
    return text + _mechanisms(mechanisms(sc))


def _mechanisms(found: dict[str, list[str]]) -> str:
    titles = {
        "attacks": ("Attacks", "none."),
        "mechanism": ("Failure mechanisms", "no slowdown or crash modelled."),
        "defence": ("Defences", "none switched on."),
    }
    parts = []
    for key, (title, none) in titles.items():
        if found[key]:
            parts.append(f"<p><strong>{h.esc(title)}</strong></p>" + h.bullets(found[key]))
        else:
            parts.append(f"<p><strong>{h.esc(title)}:</strong> {h.esc(none)}</p>")
    return "".join(parts)


def _originals(folder: Path, command: list[str] | None, manifest: dict) -> str:
    files = scenario_files(manifest.get("command") or command, manifest)  # as reproduce
    if not files:
        return h.paragraphs(
            [
                "The original scenario file is referenced nowhere in this folder: only its "
                "resolved copy (scenario.toml) is kept, without the comments in which "
                "assumptions and sources are written."
            ]
        )
    parts = []
    for name in files:
        found = _find(Path(name), folder)
        where = "" if found else " (not found from here, so its notes are not shown)"
        parts.append(f"<p>Original scenario file: <code>{h.esc(name)}</code>{h.esc(where)}</p>")
        text = notes(found) if found else None
        if text:
            parts.append(
                f"<details><summary>Notes at the top of {h.esc(name)}</summary>"
                f"<pre>{h.esc(text)}</pre></details>"
            )
    return "".join(parts)


def original_notes(folder: Path, manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """The opening notes of the original files behind a folder (a study's file, then its
    scenario's), those found from here: (name as recorded, notes)."""
    found = []
    for name in scenario_files(manifest.get("command"), manifest):
        path = _find(Path(name), folder)
        text = notes(path) if path else None
        if text:
            found.append((name, text))
    return found


def _find(path: Path, folder: Path) -> Path | None:
    """`path` as given (relative to here), or relative to the folder two levels up (the
    usual place a command is run from: results/<name>/ lies below it), or else the
    shipped example of that name (``sim run default``)."""
    for candidate in (path, folder.resolve().parent.parent / path):
        if candidate.is_file():
            return candidate
    return catalog.examples().get(path.as_posix().removesuffix(".toml"))


def reproduce(folder: Path, kind: str, command: list[str] | None, manifest: dict) -> str:
    """The command line, the seed(s) and the versions that give the same numbers."""
    command = manifest.get("command") or command
    parts = []
    if command:
        parts.append(
            h.paragraphs(
                [
                    "The command that made this folder (run it from the folder "
                    "it was run from: its paths are relative to it):"
                ]
            )
        )
        parts.append(f"<pre>{h.esc(shlex.join(command))}</pre>")
    if kind == "single":
        if not command:
            parts.append(h.paragraphs(["The command that made this folder is not recorded."]))
        parts.append(
            h.paragraphs(
                [
                    "scenario.toml is the scenario exactly as it ran (seed and "
                    "overrides included), so this reruns it:"
                ]
            )
        )
        rerun = ["sim", "run", str(folder / "scenario.toml"), "--out", f"{folder}-rerun"]
        parts.append(f"<pre>{h.esc(shlex.join(rerun))}</pre>")
        parts.append(
            h.paragraphs(
                [
                    "The same seed gives byte-identical timeseries.csv, "
                    "people.parquet (or people.csv.gz) and summary.json (but for wall_s "
                    "and speed)."
                ]
            )
        )
    else:
        parts.append(
            h.paragraphs(
                [
                    "Finished runs are kept in runs/: the same command reuses "
                    "them and writes the same tables. Replication k of every "
                    "variant draws the same random numbers (common random "
                    "numbers)."
                ]
            )
        )
    run = run_summary(folder / "summary.json") if kind == "single" else None
    seeds = manifest.get("seeds") or [run.seed if run else "?"]
    version = manifest.get("sim_version") or (run.sim_version if run else "?")
    facts = [
        f"seed{'s' * (len(seeds) > 1)}: {', '.join(str(s) for s in seeds)}",
        f"sim version: {version}",
    ]
    code = manifest.get("fingerprint") or (run.fingerprint if run else None)
    if code:  # which code made the runs (the version alone may not say)
        facts[-1] += f" (code fingerprint {code})"
    if manifest.get("versions"):
        facts.append(", ".join(f"{k} {v}" for k, v in sorted(manifest["versions"].items())))
    if "runs" in manifest:
        facts.append(
            f"runs: {manifest['runs']} ({manifest.get('reused', 0)} reused from an earlier "
            f"invocation, {len(manifest.get('failed', []))} failed)"
        )
    return "".join(parts) + h.bullets(facts)


def downtime(service: dict[str, Any]) -> str:
    """A service's unavailable minutes in a table cell: ``130 min, 07:53-10:03`` for one
    stretch, ``130 min within 07:53-10:36`` for stretches with available minutes between."""
    minutes = service.get("unavailable_minutes") or 0
    if not minutes:
        return "never"
    first, until = service.get("unavailable_from"), service.get("unavailable_until")
    joint = "," if one_stretch(service) else " within"
    return f"{minutes} min{joint} {first}-{until}"


def one_stretch(service: dict[str, Any]) -> bool:
    """Whether a service's unavailable time bins (``summary.json``) follow each other, from
    ``unavailable_from`` to ``unavailable_until`` (the end of the last of them) with no
    available bin between; False when the clock times are missing or unreadable. (The
    minutes of bins finer than a minute are rounded to 4 decimals: compared within that.)"""
    try:
        span = clock_to_s(service["unavailable_until"]) - clock_to_s(service["unavailable_from"])
        return abs(span / 60 - service["unavailable_minutes"]) < 1e-3
    except (KeyError, TypeError, AttributeError):
        return False


def json_file(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def run_summary(path: Path) -> Summary:
    """The ``summary.json`` of one run (:class:`sim.simulation.summary.Summary`)."""
    return Summary.from_json(json_file(path))


def replications_summary(path: Path) -> ReplicationsSummary:
    """The ``summary.json`` of replications
    (:class:`sim.experiments.replications.ReplicationsSummary`)."""
    return ReplicationsSummary.from_json(json_file(path))
