"""The notebooks of docs/notebooks/ run top to bottom, as a reader would run them.

Each is executed by a Jupyter kernel (nbclient, the kernel ``python3``) in a temporary
folder, so that whatever it writes lands there. A cell that raises fails the test:
every notebook checks its own conclusion in ``assert`` cells (the capacity found meets
the target, the simulation agrees with the theory, an option fixes the morning), so a
change that turns a conclusion false fails here. The committed notebooks must also be
what their sources make (docs/notebooks/make_notebooks.py), and carry no outputs.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from tests.conftest import INSTALLED, ROOT, sim_path

NOTEBOOKS = ROOT / "docs" / "notebooks"
NOTEBOOK_NAMES = ("planning", "queueing_lab", "april_2021")
WIDGETS = "widgets.interact("
"""A cell that makes live sliders is not run here: nbclient can wait forever on the
messages of a widget's output (jupyter/nbclient#312; it hung a CI run), so the test
skips it (nbclient's ``skip-execution`` tag) and runs the next cell, which calls the
sliders' function once."""


def generator():
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def execute(name: str, folder, monkeypatch):
    """Notebook `name` after running every cell in a kernel working in `folder`; the
    kernel imports the ``sim`` under test (the source tree, or the installed package).

    The three notebooks run in the suite's first pass (the source tree: the README's
    test command); CI's second pass, against the compiled package, skips them: they
    would check again, minutes later, what tests/api checks of the installed package."""
    if INSTALLED and name in NOTEBOOK_NAMES:
        pytest.skip("the notebooks run in the source tree's pass (CONTRIBUTING.md)")
    nbclient = pytest.importorskip("nbclient", reason="pip install '.[test]'")
    nbformat = pytest.importorskip("nbformat", reason="pip install '.[test]'")
    pytest.importorskip("ipykernel", reason="pip install '.[test]'")
    paths = [*sim_path(), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:  # see WIDGETS
        if cell.cell_type == "code" and WIDGETS in cell.source:
            cell.metadata.setdefault("tags", []).append("skip-execution")
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return nb


def outputs(nb) -> str:
    """Everything the cells printed or showed as text."""
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


def images(nb) -> int:
    return sum("image/png" in out.get("data", {}) for c in nb.cells for out in c.get("outputs", []))


def test_planning(tmp_path, monkeypatch) -> None:
    """The capacity found meets the target in the sweep too; staggering meets it."""
    nb = execute("planning", tmp_path, monkeypatch)
    assert "smallest login capacity:" in outputs(nb)
    assert images(nb) == 1  # the what-if


def test_queueing_lab(tmp_path, monkeypatch) -> None:
    """The simulation is within 15 % of Erlang C up to 90 % load; retries add load; the
    function the sliders call draws once directly (the sliders' cell: WIDGETS)."""
    nb = execute("queueing_lab", tmp_path, monkeypatch)
    text = outputs(nb)
    assert "P(wait), Erlang C" in text and "P(abandon), Erlang A" in text
    assert "interactive(children=" not in text  # the sliders' cell is skipped (WIDGETS)
    assert images(nb) == 2  # the hockey stick, the lab drawn once


def test_april_2021(tmp_path, monkeypatch) -> None:
    """The baseline fails the study's target, filtering alone too, and the best option
    is more portals with filtering in 5 minutes."""
    nb = execute("april_2021", tmp_path, monkeypatch)
    assert "the option to read first: Portals x2 and filtering in 5 min" in outputs(nb)
    assert images(nb) == 3  # the dashboard, the storm, the options


def test_a_figure_of_the_api_shows_at_the_end_of_a_cell(tmp_path, monkeypatch) -> None:
    """``morning.dashboard()`` ending the first cell of a fresh notebook shows the
    dashboard, without ``%matplotlib inline`` or pyplot (sim.api.runs.in_notebook)."""
    nbformat = pytest.importorskip("nbformat", reason="pip install '.[test]'")
    nb = nbformat.v4.new_notebook()
    code = 'import sim\nsim.run(sim.load("teaching/single_queue")).dashboard()'
    nb.cells = [nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, tmp_path / "fresh.ipynb")
    monkeypatch.setattr(sys.modules[__name__], "NOTEBOOKS", tmp_path)
    assert images(execute("fresh", tmp_path, monkeypatch)) == 1


@pytest.mark.parametrize("name", ["planning", "queueing_lab", "april_2021"])
def test_the_notebook_is_what_its_source_makes(name) -> None:
    gen = generator()
    assert name in gen.NOTEBOOKS
    assert gen.is_current(name), (
        f"docs/notebooks/{name}.ipynb is out of date: run {gen.COMMAND} and commit it"
    )
    committed = (NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8")
    assert '"outputs": []' in committed and '"image/png"' not in committed


def test_an_edited_notebook_is_stale(tmp_path, monkeypatch) -> None:
    """A cell changed in the .ipynb (or run and saved with outputs) is reported."""
    gen = generator()
    monkeypatch.setattr(gen, "HERE", tmp_path)
    (tmp_path / "planning.py").write_text("# %%\nx = 1\n")
    (tmp_path / "planning.ipynb").write_text(gen.notebook("planning"))
    assert gen.is_current("planning")
    (tmp_path / "planning.py").write_text("# %%\nx = 2\n")
    assert not gen.is_current("planning")


def test_a_percent_source_makes_its_cells() -> None:
    gen = generator()
    cells = gen.cells_of(
        "# header\n\n# %% [markdown]\n# # Title\n#\n# text\n\n"
        "# %%\n# %matplotlib inline\nx = 1\nx\n"
    )
    assert [(c.cell_type, c.source) for c in cells] == [
        ("markdown", "# Title\n\ntext"),
        ("code", "%matplotlib inline\nx = 1\nx"),
    ]
