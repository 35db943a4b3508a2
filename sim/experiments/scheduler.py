"""Reaching a Dask scheduler, or saying in one line why not.

Dask is optional (``pip install 'sim[cluster]'``) and trusts whoever answers: it sends
jobs and results pickled, so over plain ``tcp://`` anyone who answers at the address (or
sits on the network in between) can run code in this process. Its client also trusts the
bytes it reads: it waits for the scheduler's greeting without a time limit, and it
allocates at once as many bytes as the greeting's first 8 bytes say (a web server's
``HTTP/1.1`` reads as 3 EiB). So before handing an address to Dask, :func:`connect`
checks with a socket of its own, within a bounded time, that a Dask scheduler answers
there: it speaks first, with a short greeting.

Errors are :class:`SchedulerError`: one line for the user, with the exit code that fits
(2: the address or settings are wrong; 1: nothing usable answered at a valid address).
"""

from __future__ import annotations

import ipaddress
import math
import os
import socket
import struct
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

SCHEDULER_ENV = "SIM_SCHEDULER"

TIMEOUT_ENV = "SIM_SCHEDULER_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 30.0
"""How long to wait for a scheduler to accept the connection (it may be starting: refused
connections are retried meanwhile) and then to greet, each."""

TLS_ENV = {
    "SIM_TLS_CA_FILE": "tls_ca_file",
    "SIM_TLS_CERT": "tls_client_cert",
    "SIM_TLS_KEY": "tls_client_key",
}
"""Environment variables naming the TLS files for a ``tls://`` scheduler: the CA that
signed the cluster's certificates, this client's certificate and its private key."""

GREETING_MAX_BYTES = 1 << 20
"""Most bytes a Dask scheduler's greeting may announce. It is a small dict (compression,
Python and pickle versions): a few hundred bytes. Dask's wire format starts every message
with its length, 8 bytes in the machine's byte order, as Dask packs them."""

LENGTH = struct.Struct("Q")

INSTALL = "pip install 'sim[cluster]'"


class SchedulerError(RuntimeError):
    """The Dask scheduler cannot be used: the address, the TLS settings or the timeout
    are wrong, or Dask is not installed. The message is one line for the user; exit
    code 2 (the command is wrong, nothing ran)."""

    exit_code = 2


class SchedulerUnavailable(SchedulerError):
    """A well-formed address where no Dask scheduler answered: nothing listening,
    something else listening, or no answer in time. A failure of the moment (the same
    command may work later): exit code 1."""

    exit_code = 1


def chosen_scheduler(option: str | None) -> str | None:
    """The scheduler's address: the option's, else ``SIM_SCHEDULER``'s, else None."""
    return option or os.environ.get(SCHEDULER_ENV) or None


def require_distributed(source: str = "--scheduler") -> None:
    """Fail unless Dask's ``distributed`` imports (it is an optional dependency)."""
    try:
        import distributed  # noqa: F401
    except ImportError as err:
        missing = isinstance(err, ModuleNotFoundError) and err.name == "distributed"
        why = "" if missing else f" (importing it failed: {' '.join(str(err).split())})"
        raise SchedulerError(f"{source} needs Dask's distributed{why}: {INSTALL}") from None


def scheduler_timeout() -> float:
    """Seconds to wait for the scheduler: ``SIM_SCHEDULER_TIMEOUT_S``, default 30."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise SchedulerError(f"{TIMEOUT_ENV} must be a number of seconds above 0, got {text!r}")
    return value


def parse_scheduler(address: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of `address`, the way Dask reads it (no scheme means
    ``tcp://``); host and port only for the schemes that have them (tcp, tls)."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        if scheme not in ("tcp", "tls"):
            return scheme, "", None
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as err:
        raise SchedulerError(_cannot(address, " ".join(str(err).split()))) from None
    return scheme, host, port


def check_scheduler(address: str, source: str = "--scheduler") -> str | None:
    """Everything about a scheduler that can be known without reaching it, before any
    run: Dask is installed, the address and the TLS settings are valid, the timeout is a
    number. Returns the warning to print, if any (see :func:`plain_tcp_warning`)."""
    require_distributed(source)
    scheduler_timeout()
    parse_scheduler(address)
    dask_security(address)
    return plain_tcp_warning(address)


def plain_tcp_warning(address: str) -> str | None:
    """A warning for a plain ``tcp://`` scheduler on another machine; None for
    ``tls://``, other transports and this machine's own addresses (loopback)."""
    scheme, host, _ = parse_scheduler(address)
    if scheme != "tcp" or _on_this_machine(host):
        return None
    return (
        f"{address} is plain tcp:// to another machine: Dask sends jobs and results "
        "pickled, unencrypted and unauthenticated, so whoever answers at that address "
        "(or sits on the network in between) can run code here; use tls://host:port "
        "with SIM_TLS_CA_FILE, SIM_TLS_CERT and SIM_TLS_KEY"
    )


def _on_this_machine(host: str) -> bool:
    if host.lower() in ("", "localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False  # a host name: not resolved here, it may name any machine
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or ip.is_unspecified or bool(mapped and mapped.is_loopback)


def dask_security(address: str) -> Any:
    """The ``distributed.security.Security`` for `address`: TLS with the certificates of
    the ``SIM_TLS_*`` variables (encryption required) for ``tls://``, None otherwise."""
    files = {name: os.environ.get(name, "") for name in TLS_ENV}
    given = [name for name, path in files.items() if path]
    if not address.startswith("tls://"):
        if given:
            raise SchedulerError(
                f"{given[0]} is set but the scheduler address {address} is not tls://: "
                "use tls://host:port, or unset the SIM_TLS_* variables"
            )
        return None
    missing = [name for name, path in files.items() if not path]
    if missing:
        raise SchedulerError(
            f"the scheduler address {address} uses TLS: set {', '.join(missing)} (the CA "
            "certificate, this client's certificate and its key, as PEM files)"
        )
    for name, path in files.items():
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise SchedulerError(f"{name}: cannot read the file {path}")
    from distributed.security import Security

    return Security(
        require_encryption=True, **{TLS_ENV[name]: path for name, path in files.items()}
    )


def connect(address: str) -> Any:
    """A ``distributed.Client`` of the scheduler at `address`, once :func:`probe` has
    seen a Dask scheduler greet there. Dask's own connection then has the same timeout
    (but its wait for the greeting has none: hence the probe)."""
    require_distributed()
    import dask
    from distributed import Client

    security = dask_security(address)
    timeout = scheduler_timeout()
    probe(address, security, timeout)
    try:
        with dask.config.set({"distributed.comm.timeouts.connect": f"{timeout}s"}):
            return Client(address, timeout=f"{timeout}s", security=security)
    except (OSError, ValueError, TypeError) as err:
        message = " ".join(str(err).split()) or type(err).__name__
        raise SchedulerUnavailable(_cannot(address, message)) from None


def probe(address: str, security: Any, timeout: float) -> None:
    """Check that a Dask scheduler answers at `address` (tcp or tls): it accepts a
    connection within `timeout` (refusals are retried meanwhile, as Dask does: the
    scheduler may be starting), then greets within `timeout` with a message of a
    plausible length. Only the greeting's first 8 bytes are read, then the connection
    is closed (the scheduler logs that the client left before the handshake)."""
    scheme, host, port = parse_scheduler(address)
    if port is None:
        return  # another transport: Dask's own checks
    sock = _connected(address, host, port, timeout)
    try:
        if scheme == "tls":
            sock = _over_tls(sock, address, security, timeout)
        first = _received(sock, LENGTH.size, address, timeout, scheme)
    finally:
        sock.close()
    (length,) = LENGTH.unpack(first)
    if not 0 < length <= GREETING_MAX_BYTES:
        raise SchedulerUnavailable(
            _cannot(address, f"it did not answer as a Dask scheduler (its first bytes: {first!r})")
            + "; is another service listening there?"
        )


def _connected(address: str, host: str, port: int, timeout: float) -> socket.socket:
    """A connection to host:port, retried with growing pauses until `timeout` ends."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        left = deadline - time.monotonic()
        try:
            return socket.create_connection((host, port), timeout=max(left, 0.01))
        except socket.gaierror as err:
            raise SchedulerUnavailable(
                _cannot(address, f"cannot resolve {host!r}: {err.strerror or err}")
            ) from None
        except OSError as err:
            left = deadline - time.monotonic()
            if left <= 0:
                reason = err.strerror or str(err) or type(err).__name__
                raise SchedulerUnavailable(
                    _cannot(address, f"nothing accepted a connection in {timeout:g} s ({reason})")
                    + f"; is a scheduler running there? ({TIMEOUT_ENV} sets the wait)"
                ) from None
            time.sleep(min(delay, left))
            delay = min(2 * delay, 1.0)


def _over_tls(sock: socket.socket, address: str, security: Any, timeout: float) -> ssl.SSLSocket:
    import ssl  # ~10 ms to import: only for a tls:// scheduler (the CLI imports this module)

    args = security.get_connection_args("client")
    sock.settimeout(timeout)
    try:
        return args["ssl_context"].wrap_socket(sock, server_hostname=args.get("server_hostname"))
    except TimeoutError:
        sock.close()
        raise SchedulerUnavailable(_silent(address, timeout, "tls")) from None
    except (ssl.SSLError, OSError) as err:
        sock.close()
        reason = " ".join(str(err).split()) or type(err).__name__
        raise SchedulerUnavailable(
            _cannot(address, f"the TLS handshake failed ({reason})")
            + "; is it a tcp:// scheduler, or one whose certificate SIM_TLS_CA_FILE did not sign?"
        ) from None


def _received(sock: socket.socket, size: int, address: str, timeout: float, scheme: str) -> bytes:
    """The first `size` bytes the server sends, within `timeout`."""
    deadline = time.monotonic() + timeout
    data = b""
    while len(data) < size:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SchedulerUnavailable(_silent(address, timeout, scheme))
        sock.settimeout(left)
        try:
            chunk = sock.recv(size - len(data))
        except TimeoutError:
            raise SchedulerUnavailable(_silent(address, timeout, scheme)) from None
        except OSError as err:
            reason = " ".join(str(err).split()) or type(err).__name__
            failed = _cannot(address, f"the connection failed ({reason})")
            raise SchedulerUnavailable(failed) from None
        if not chunk:
            raise SchedulerUnavailable(
                _cannot(address, "it closed the connection without answering as a Dask scheduler")
            )
        data += chunk
    return data


def _silent(address: str, timeout: float, scheme: str) -> str:
    hint = "a tls:// scheduler, or another service" if scheme == "tcp" else "another service"
    return (
        _cannot(address, "it accepted the connection but did not answer as a Dask scheduler")
        + f" in {timeout:g} s (is it {hint}? {TIMEOUT_ENV} sets the wait)"
    )


def _cannot(address: str, why: str) -> str:
    return f"cannot use the Dask scheduler {address}: {why}"
