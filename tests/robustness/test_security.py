"""Security hygiene: scenario files and results are data, never code; a ``tls://`` Dask
scheduler is reached over TLS with the certificates given, or not at all.

That the HTML report escapes scenario text is tested in tests/outputs/test_report.py
(``test_scenario_text_is_escaped``).
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.config import load_scenario
from sim.experiments.execution import Job, SchedulerError, dask_security, execute
from sim.outputs.run_store import RunStore
from tests.conftest import ROOT
from tests.robustness.conftest import (
    SURGE,
    invoke,
    one_error_line,
    start_cluster,
    stop_cluster,
    wait_for_workers,
)

# ---------------------------------------------------------------- data, never code

FORBIDDEN_CALLS = {
    "eval", "exec", "compile", "__import__",
    "pickle.load", "pickle.loads", "pickle.Unpickler", "cPickle.load", "cPickle.loads",
    "marshal.load", "marshal.loads", "shelve.open", "dill.load", "dill.loads",
    "cloudpickle.load", "cloudpickle.loads", "joblib.load",
    "yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all",
    "os.system", "os.popen", "subprocess.run", "subprocess.Popen", "subprocess.call",
    "subprocess.check_call", "subprocess.check_output", "importlib.import_module",
    "pd.read_pickle", "pandas.read_pickle",
}  # fmt: skip


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _literal_code(call: ast.Call) -> bool:
    """An exec of a string written in the source itself (sim.entry's ``exec("None")``,
    which clears CPython's mark of an interrupted exec): no data can reach it."""
    return (
        _dotted(call.func) == "exec"
        and all(isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in call.args)
        and not call.keywords
    )


BROWSER_MODULE = "sim/outputs/pdf.py"  # sim report --pdf: headless Chromium prints a page


def _browser_call(path: Path, call: ast.Call) -> bool:
    """The one program sim starts: the browser that prints a report to PDF, from an
    argument list (never a shell)."""
    return (
        path.relative_to(ROOT).as_posix() == BROWSER_MODULE
        and _dotted(call.func) == "subprocess.run"
        and not any(k.arg == "shell" for k in call.keywords)
    )


def test_no_source_of_sim_can_run_code_from_a_file():
    """No eval/exec (but of a string literal), no unpickling, no yaml.load, no shell (no
    program started but the browser of ``--pdf``) in sim/: scenario files (TOML) and
    results (JSON, CSV, Parquet) are read as data only. (Dask pickles jobs to send them
    to its workers: that is the cluster's own protocol, see docs/how-to/cluster.md.)"""
    found = []
    sources = sorted((ROOT / "sim").rglob("*.py"))
    assert len(sources) > 30
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and _dotted(node.func) in FORBIDDEN_CALLS
                and not _literal_code(node)
                and not _browser_call(path, node)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {_dotted(node.func)}")
            if isinstance(node, ast.Call) and _dotted(node.func).endswith("load"):
                for keyword in node.keywords:  # numpy's load(..., allow_pickle=True)
                    if keyword.arg == "allow_pickle":
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} allow_pickle")
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names]
                module = getattr(node, "module", None) or ""
                if {"pickle", "marshal", "shelve", "yaml", "dill"} & {module, *names}:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} import {names}")
    assert found == []


class _Payload:
    """Unpickling this creates a file: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_the_run_store_reads_json_only(tmp_path):
    """A run record replaced by a pickle is not loaded (it is not JSON): the run is
    simply run again, and the pickle's code never runs."""
    import pickle

    job = Job(load_scenario(SURGE, ["cohorts.pupils.count=300", "cohorts.parents.count=50"]), 0, 1)
    store = RunStore(tmp_path)
    marker = tmp_path / "pwned"
    store.folder.mkdir(parents=True)
    store.path(job.key).write_bytes(pickle.dumps(_Payload(marker)))
    assert store.get(job.key) is None
    outcome = execute([job], store, n_jobs=1)
    assert outcome.ran == 1 and not marker.exists()
    assert json.loads(store.path(job.key).read_text())["key"] == job.key


def test_a_scenario_file_is_toml_data_only(tmp_path):
    """TOML has no way to run code: a file that tries is refused as malformed."""
    path = tmp_path / "evil.toml"
    path.write_text('name = !!python/object/apply:os.system ["touch pwned"]\n')
    result = invoke("show", path)
    assert result.exit_code == 2
    assert "malformed TOML" in one_error_line(result.stderr)
    assert not (tmp_path / "pwned").exists()


# ---------------------------------------------------------------- TLS to Dask

TLS_ENV = ("SIM_TLS_CA_FILE", "SIM_TLS_CERT", "SIM_TLS_KEY")


@pytest.fixture
def no_tls_env(monkeypatch):
    for name in TLS_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _files(tmp_path) -> dict[str, str]:
    paths = {}
    for name in TLS_ENV:
        path = tmp_path / f"{name.lower()}.pem"
        path.write_text("-----BEGIN CERTIFICATE-----\n")
        paths[name] = str(path)
    return paths


def test_a_tcp_address_needs_no_security(no_tls_env):
    assert dask_security("tcp://127.0.0.1:8786") is None


def test_a_tls_address_uses_the_certificates_given_and_requires_encryption(tmp_path, no_tls_env):
    files = _files(tmp_path)
    for name, path in files.items():
        no_tls_env.setenv(name, path)
    security = dask_security("tls://scheduler.example:8786")
    assert security.require_encryption is True
    assert security.tls_ca_file == files["SIM_TLS_CA_FILE"]
    assert security.tls_client_cert == files["SIM_TLS_CERT"]
    assert security.tls_client_key == files["SIM_TLS_KEY"]


def test_tls_settings_that_cannot_work_are_one_line(tmp_path, no_tls_env):
    with pytest.raises(SchedulerError, match="set SIM_TLS_CA_FILE, SIM_TLS_CERT, SIM_TLS_KEY"):
        dask_security("tls://127.0.0.1:8786")
    files = _files(tmp_path)
    no_tls_env.setenv("SIM_TLS_CA_FILE", files["SIM_TLS_CA_FILE"])
    with pytest.raises(SchedulerError, match="is not tls://"):
        dask_security("tcp://127.0.0.1:8786")  # certificates given: plain TCP is a mistake
    no_tls_env.setenv("SIM_TLS_CERT", files["SIM_TLS_CERT"])
    no_tls_env.setenv("SIM_TLS_KEY", str(tmp_path / "missing.pem"))
    with pytest.raises(SchedulerError, match="SIM_TLS_KEY: cannot read the file"):
        dask_security("tls://127.0.0.1:8786")


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_tls_scheduler_without_certificates_is_refused_before_running(
    tmp_path, no_tls_env, command
):
    extra = ["--reps", "2"] if command == "run" else ["--vary", "seed=1,2"]
    out = tmp_path / "out"
    result = invoke(command, SURGE, *extra, "--scheduler", "tls://127.0.0.1:1", "--out", out)
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "tls://127.0.0.1:1 uses TLS: set SIM_TLS_CA_FILE, SIM_TLS_CERT, SIM_TLS_KEY" in line
    assert not out.exists()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A throw-away CA and one certificate signed by it for 127.0.0.1 (scheduler, workers
    and client alike), made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=sim test CA",
        cwd=folder,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "node.key",
        "-out",
        "node.csr",
        "-subj",
        "/CN=127.0.0.1",
        cwd=folder,
    )
    (folder / "ext.cnf").write_text(
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    _openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-out", "node.pem", "-extfile", "ext.cnf",
             cwd=folder)  # fmt: skip
    return tuple(str(folder / name) for name in ("ca.pem", "node.pem", "node.key"))


@pytest.fixture(scope="module")
def tls_cluster(certificates):
    from distributed.security import Security

    address, procs = start_cluster(2, tls=certificates)
    ca, cert, key = certificates
    security = Security(
        tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True
    )
    try:
        wait_for_workers(address, 2, security=security)
        yield address
    finally:
        stop_cluster(address, procs, security=security)


def test_runs_on_a_real_tls_cluster(tmp_path, tls_cluster, certificates, no_tls_env):
    assert tls_cluster.startswith("tls://")
    for name, path in zip(TLS_ENV, certificates, strict=True):
        no_tls_env.setenv(name, path)
    args = ["run", SURGE, "--reps", "2", "--out"]
    over_tls = invoke(*args, tmp_path / "tls", "--scheduler", tls_cluster)
    assert over_tls.exit_code == 0, over_tls.output
    for name in TLS_ENV:
        no_tls_env.delenv(name)
    serial = invoke(*args, tmp_path / "serial", "--jobs", "1")
    assert serial.exit_code == 0, serial.output
    table = "replications.csv"
    assert (tmp_path / "tls" / table).read_bytes() == (tmp_path / "serial" / table).read_bytes()


def test_a_report_embeds_no_link_and_nothing_outside_its_folder(tmp_path):
    """A link ``zz.png -> secret.txt`` put the secret's bytes into the "self-contained"
    report (issue 16); a report embeds the folder's own regular files only."""
    import base64

    from sim.outputs.report.page import write_report
    from tests.conftest import SCENARIOS

    folder = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(SCENARIOS / "surge.toml"),
         "--set", "cohorts.pupils.count=300", "--out", str(folder)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"the password is swordfish")
    (folder / "zz.png").symlink_to(secret)
    page = write_report(folder).read_text(encoding="utf-8")
    assert base64.b64encode(secret.read_bytes()).decode() not in page
    assert "(zz.png)" not in page  # no figure named after the link
    assert base64.b64encode((folder / "dashboard.png").read_bytes()).decode()[:200] in page
