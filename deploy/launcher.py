"""`make run`: the whole platform on one machine, on embedded PostgreSQL and NATS.

Starts (or, given URLs, reuses external) PostgreSQL and NATS JetStream, creates one database
per service, applies every service's migrations, provisions streams and consumers, seeds the
Ninghai demo data, starts the services and the gateway, prints where everything is, and on
Ctrl-C or SIGTERM stops every process it started.

Environment:
  ZONE_DATA_DIR       data folder for the embedded servers (default .data/)
  ZONE_DATABASE_URL   external PostgreSQL, e.g. postgresql+asyncpg://user:pw@db:5432 (no db name)
                      (the embedded server's password is generated into <data>/postgres-password)
  ZONE_NATS_URL       external NATS, e.g. nats://nats-1:4222,nats://nats-2:4222
  ZONE_NATS_CREDENTIALS  the NATS identities' passwords (JSON; default <data>/nats-credentials.json,
                      generated for the embedded server; an external server must know them)
  ZONE_PII_KEYS_FILE  the keys of personal information and secrets at rest (default
                      <data>/pii-keys.json, generated once; a service's REGISTRY_PII_KEYS or
                      GATEWAY_PII_KEYS in the environment wins for it)
  ZONE_HOST           bind address of the HTTP services (default 127.0.0.1)
  ZONE_GATEWAY_PORT   gateway port (default 8000); services take the next ports
  ZONE_PG_PORT        embedded PostgreSQL port (default 54329)
  ZONE_NATS_PORT      embedded NATS port (default 4222)
  ZONE_PROFILE        dev (default: seeds demo data and the demo-admin client), test or prod
  ZONE_SEED           1 (default in dev) or 0
  ZONE_HISTORY        1 (default in dev when seeding) or 0: years of demo history (surveys,
                      batches, campaigns and results, alerts, CAPAs, meetings, trainings;
                      deploy/history.py), loaded once, after the services applied the seed
  ZONE_WORKERS        uvicorn workers per service (default: 2, or 1 on a single core)
  ZONE_TRUSTED_PROXIES  addresses or CIDRs (comma-separated) whose X-Forwarded-For and
                      X-Forwarded-Proto the gateway believes (default none: a client's own
                      headers never change its address); the services trust the gateway only
  <SERVICE>_REQUIRE_GATEWAY  true (the launcher's default): a service answers only requests
                      carrying the gateway's assertion; false lets a caller reach its port
  ZONE_STREAM_REPLICAS  stream replicas (default 1; 3 on a 3-node NATS cluster)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from deploy import nats_auth, pg_auth, pii_keys
from deploy.processes import Nats, Postgres, die_with_parent, wait_until_live
from deploy.streams import SERVICES, provision, wait_caught_up
from kit.messaging import NatsIdentity
from kit.migrations import upgrade

ROOT = Path(__file__).resolve().parent.parent
SERVICE_DATABASES = ["registry", "credit", "inspection", "notify", "gateway"]
ALEMBIC_INI = ROOT / "alembic.ini"  # a section per database
# name -> (ASGI app, env prefix). Services without an app yet are not started.
APPS = {
    "registry": ("services.registry.main:app", "REGISTRY_"),
    "credit": ("services.credit.main:app", "CREDIT_"),
    "inspection": ("services.inspection.main:app", "INSPECTION_"),
    "notify": ("services.notify.main:app", "NOTIFY_"),
    "gateway": ("gateway.main:app", "GATEWAY_"),
}


@dataclass
class Stack:
    """Every process of one running platform; used by `make run`, the tests and the bench."""

    data_dir: Path
    host: str = "127.0.0.1"
    gateway_port: int = 8000
    pg_port: int = 54329
    nats_port: int = 4222
    profile: str = "dev"
    # uvicorn worker processes per service; services are stateless, relays use SKIP LOCKED
    workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))
    # the gateway's trusted proxies (ZONE_TRUSTED_PROXIES); the services trust the gateway
    trusted_proxies: str = ""
    database_url: str | None = None  # external server root URL, no database name
    stream_replicas: int = 1  # 3 on a 3-node NATS cluster
    nats_url: str | None = None
    nats_credentials: Path | None = None  # default: <data_dir>/nats-credentials.json
    pg: Postgres | None = None
    nats: Nats | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # more environment for every service
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage of start()

    def __post_init__(self) -> None:
        # The gateway's port, then one per service in APPS order.
        self.ports = {"gateway": self.gateway_port}
        for offset, name in enumerate((n for n in APPS if n != "gateway"), start=1):
            self.ports[name] = self.gateway_port + offset
        self.nats_credentials = self.nats_credentials or self.data_dir / "nats-credentials.json"
        self._passwords: dict[str, str] | None = None
        self._pii_keys: pii_keys.LocalKeys | None = None

    @property
    def pg_root_url(self) -> str:
        """PostgreSQL server URL without a database; the embedded server's carries its
        password (generated into the data folder on first use): never print it as is."""
        if self.database_url:
            return self.database_url
        return pg_auth.root_url(self.pg_port, pg_auth.load_or_create(self.pg_password_file))

    @property
    def pg_password_file(self) -> Path:
        """The embedded PostgreSQL's password (mode 0600)."""
        return pg_auth.path_for(self.data_dir)

    @property
    def nats_client_url(self) -> str:
        """NATS URL(s)."""
        return self.nats_url or f"nats://127.0.0.1:{self.nats_port}"

    @property
    def nats_passwords(self) -> dict[str, str]:
        """Every NATS identity's password: generated for the embedded server on first use
        and kept in the data folder (mode 0600); read from the file for an external one."""
        if self._passwords is None:
            assert self.nats_credentials is not None
            if self.nats_url is None:
                self._passwords = nats_auth.load_or_create(self.nats_credentials)
            elif not self.nats_credentials.exists():
                raise FileNotFoundError(
                    f"{self.nats_credentials}: the NATS identities' passwords for {self.nats_url}"
                    " (set ZONE_NATS_CREDENTIALS)"
                )
            else:  # the external server knows these: read, never regenerate
                self._passwords = nats_auth.read(self.nats_credentials)
        return self._passwords

    @property
    def pii_keys(self) -> pii_keys.LocalKeys | None:
        """The keys of personal information at rest: generated into the data folder on first
        use (mode 0600); None when the environment names every service's own
        (`REGISTRY_PII_KEYS`, `GATEWAY_PII_KEYS`)."""
        if self._pii_keys is None and not all(map(pii_keys.from_environment, pii_keys.SERVICES)):
            self._pii_keys = pii_keys.load_or_create(pii_keys.path_for(self.data_dir))
        return self._pii_keys

    def nats_identity(self, name: str) -> NatsIdentity:
        """A NATS identity of this stack (a service, `provisioner` or `observer`)."""
        return NatsIdentity(user=name, password=self.nats_passwords[name])

    @property
    def nats_observer_url(self) -> str:
        """The read-only URL operators' tools can use (credentials in it)."""
        host = self.nats_client_url.split(",")[0].split("://", 1)[1]
        return f"nats://{nats_auth.OBSERVER}:{self.nats_passwords[nats_auth.OBSERVER]}@{host}"

    def db_url(self, name: str) -> str:
        """URL of one service's database."""
        return f"{self.pg_root_url.rstrip('/')}/{name}"

    def url(self, name: str) -> str:
        """Base URL of a service or the gateway."""
        return f"http://{self.host}:{self.ports[name]}"

    def start_infrastructure(self) -> None:
        """Embedded PostgreSQL and NATS unless external URLs were given."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.database_url is None:
            self.pg = Postgres(self.data_dir / "postgres", self.pg_port)
            self.pg.start()
        asyncio.run(create_databases(self.pg_root_url, SERVICE_DATABASES))
        if self.nats_url is None:
            self.nats = Nats(
                self.data_dir / "nats",
                self.nats_port,
                authorization=nats_auth.authorization(self.nats_passwords),
            )
            self.nats.start()

    def migrate(self) -> None:
        """Apply each service's Alembic migrations to its own database (the registry's
        encrypt personal information with this stack's keys)."""
        with pii_keys.in_process(self.pii_keys):
            for name in SERVICE_DATABASES:
                upgrade(ALEMBIC_INI, name, self.db_url(name))

    def provision(self) -> None:
        """Streams and consumers."""
        asyncio.run(
            provision(
                self.nats_client_url,
                self.nats_identity(nats_auth.PROVISIONER),
                replicas=self.stream_replicas,
            )
        )

    def seed(self) -> None:
        """Ninghai demo data (idempotent)."""
        from deploy.seed import seed

        with pii_keys.in_process(self.pii_keys):
            asyncio.run(seed(self.db_url("registry"), demo_user=self.profile == "dev"))

    def seed_field(self) -> None:
        """The field app's demo inspectors and their drawn tasks (deploy/seed_field.py), once
        the services have applied the seed (and the history, when loaded)."""
        from deploy.seed_field import seed_field

        with pii_keys.in_process(self.pii_keys):
            asyncio.run(seed_field(self.db_url("inspection"), self.db_url("gateway")))

    def load_history(self) -> dict[str, int]:
        """The demo's years of history (deploy/history.py) through the service layer, once
        (again: nothing), returned when every consumer has applied it (credit's levels
        included); the services must be running, their consumers caught up."""
        from deploy.history import load

        async def caught_up() -> bool:
            return await wait_caught_up(
                self.nats_client_url, self.nats_identity(nats_auth.OBSERVER)
            )

        phases: dict[str, float] = {}
        with pii_keys.in_process(self.pii_keys):
            counts = asyncio.run(load(self.db_url, caught_up, phases))
        started = time.monotonic()
        if counts and not asyncio.run(caught_up()):
            print("warning: consumers still catching up with the history", file=sys.stderr)
        phases["applied"] = time.monotonic() - started
        self.timings.update({f"history: {name}": s for name, s in phases.items()})
        return counts

    def load_registry_history(self) -> dict[str, int]:
        """Registry's part of the history (`deploy.history.load_registry`); the services
        need not be up."""
        from deploy.history import load_registry

        with pii_keys.in_process(self.pii_keys):
            return asyncio.run(load_registry(self.db_url))

    def load_inspection_history(self) -> dict[str, int]:
        """Inspection's part (`deploy.history.load_inspection`), once the consumers have
        applied registry's; returned when every consumer has applied it."""
        from deploy.history import load_inspection

        phases: dict[str, float] = {}
        with pii_keys.in_process(self.pii_keys):
            made = asyncio.run(load_inspection(self.db_url, phases))
        started = time.monotonic()
        if made and not asyncio.run(self._applied(False)):
            print("warning: consumers still catching up with the history", file=sys.stderr)
        phases["applied"] = time.monotonic() - started
        self.timings.update({f"history: {name}": s for name, s in phases.items()})
        return made

    async def _applied(self, registry_history: bool) -> bool:
        """Every consumer has applied every event (registry's relay first sent the history's
        thousands, when it was just loaded: then up to ten minutes); False on timeout."""
        from deploy.history import outbox_drained

        if registry_history:
            await outbox_drained(self.db_url("registry"), timeout_s=600)
        return await wait_caught_up(
            self.nats_client_url,
            self.nats_identity(nats_auth.OBSERVER),
            timeout_s=600 if registry_history else 120,
        )

    def service_env(self, name: str) -> dict[str, str]:
        """Environment of one service process."""
        prefix = APPS[name][1]
        env = {
            # services answer the gateway only, unless the environment says otherwise
            **({f"{prefix}REQUIRE_GATEWAY": "true"} if name != "gateway" else {}),
            **os.environ,
            **self.env,
            f"{prefix}PROFILE": self.profile,
            f"{prefix}DATABASE_URL": self.db_url(name),
            f"{prefix}NATS_URL": self.nats_client_url,
            f"{prefix}JWKS_URL": f"{self.url('gateway')}/.well-known/jwks.json",
            f"{prefix}HOST": self.host,
            f"{prefix}PORT": str(self.ports[name]),
        }
        if (
            name in pii_keys.SERVICES
            and not pii_keys.from_environment(name)
            and self.pii_keys is not None
        ):
            env.update(self.pii_keys.env(prefix))
        if name in SERVICES:
            env[f"{prefix}NATS_USER"] = name
            env[f"{prefix}NATS_PASSWORD"] = self.nats_passwords[name]
        if name == "gateway":
            for service in APPS:
                if service != "gateway":
                    env[f"GATEWAY_{service.upper()}_URL"] = self.url(service)
            env["GATEWAY_PUBLIC_BASE_URL"] = self.url("gateway")
        return env

    def start_service(self, name: str, env: dict[str, str] | None = None) -> None:
        """Start one service under uvicorn (uvloop + httptools, a socket per worker: see
        deploy/serve.py) and wait until it is live; `env` adds to its environment (the fault
        tests arm failpoints with it)."""
        self._spawn(name, env)
        self._wait_live(name)

    def _wait_live(self, name: str, timeout: float = 60) -> None:
        wait_until_live(
            f"{self.url(name)}/livez",
            self.procs[name],
            log=self.data_dir / f"{name}.log",
            timeout=timeout,
        )

    def _spawn(self, name: str, env: dict[str, str] | None = None) -> None:
        """Start one service's process without waiting for it."""
        app, _ = APPS[name]
        # the workers' metrics meet in files here (emptied: counters start again with the service)
        metrics = self.data_dir / "metrics" / name
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        log = open(self.data_dir / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deploy.serve",  # uvicorn, each worker on a socket of its own
                app,
                "--host",
                self.host,
                "--port",
                str(self.ports[name]),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--timeout-keep-alive",
                "75",
                "--timeout-graceful-shutdown",
                "5",
                "--workers",
                str(self.workers),
                *proxy_header_flags(self.trusted_proxies_of(name)),
            ],
            cwd=ROOT,
            env={**self.service_env(name), "PROMETHEUS_MULTIPROC_DIR": str(metrics), **(env or {})},
            stdout=log,
            stderr=log,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        self.procs[name] = proc

    def trusted_proxies_of(self, name: str) -> str:
        """Whose forwarded headers `name` believes: the gateway's configured proxies (none
        by default); a service believes only the gateway, which connects from this host."""
        if name == "gateway":
            return self.trusted_proxies
        unspecified = {"0.0.0.0": "127.0.0.1", "::": "::1", "localhost": "127.0.0.1,::1"}
        return unspecified.get(self.host, self.host)

    def start_services(self) -> None:
        """Gateway first (it holds the token keys), then the services side by side: each
        spends its start-up importing and connecting, which the others need not wait for
        (one after another was the longest stage of a first `make run`)."""
        if "gateway" not in self.procs:
            self._spawn("gateway")
        self._wait_live("gateway")
        services = [name for name in APPS if name != "gateway"]
        for name in services:
            if name not in self.procs:  # `start` spawns them early when it seeds
                self._spawn(name)
        for name in services:  # started together, so each may take the others' share longer
            try:
                self._wait_live(name, timeout=60 * len(services))
            except RuntimeError:
                # Eight workers connecting at once on a loaded machine can miss the database's
                # connect timeout (the worker exits): once more, the others being up by now.
                print(f"{name} exited during start-up; starting it again", file=sys.stderr)
                self._spawn(name)
                self._wait_live(name)

    def stop_service(self, name: str, *, kill: bool = False) -> None:
        """Stop one service process."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def start(self, *, seed: bool, history: bool = False) -> None:
        """Everything, in order; `history` (with `seed`) loads the demo's years of history
        once the services have applied the seed's events. Each stage's seconds are kept in
        `timings` (the launcher prints them: where a first start's time goes)."""
        with self._stage("postgresql, nats"):
            self.start_infrastructure()
        with self._stage("migrations"):
            self.migrate()
        with self._stage("streams"):
            self.provision()
        loaded: dict[str, int] = {}
        if seed:
            # Every process starts (importing, connecting) while the seed and registry's part
            # of the history load in this one: they write registry's database alone, in a
            # transaction each, and the consumers take their events as they come.
            for name in APPS:
                self._spawn(name)
            with self._stage("seed"):
                self.seed()
            if history:
                with self._stage("registry history"):
                    loaded = self.load_registry_history()
        with self._stage("services"):
            self.start_services()
        if seed:
            with self._stage("seed applied"):
                # the services apply the demo data's events before anyone calls them, normally
                applied = asyncio.run(self._applied(bool(loaded)))
            if not applied:
                print("warning: consumers still catching up with the demo data", file=sys.stderr)
        if seed and history:
            with self._stage("history"):
                self.load_inspection_history()
        if seed and self.profile == "dev":
            with self._stage("field demo"):
                self.seed_field()

    @contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = time.monotonic() - started

    def stop(self) -> None:
        """Every process we started, services first, servers last."""
        for name in list(self.procs):
            self.stop_service(name)
        if self.nats is not None:
            self.nats.stop()
        if self.pg is not None:
            self.pg.stop()


def proxy_header_flags(trusted_proxies: str) -> list[str]:
    """uvicorn's flags for forwarded headers: believed only from `trusted_proxies`
    (addresses or CIDRs, comma-separated), and not at all when it is empty (uvicorn's own
    default trusts 127.0.0.1, so any local client could name its own address)."""
    trusted = ",".join(p.strip() for p in trusted_proxies.split(",") if p.strip())
    if not trusted:
        return ["--no-proxy-headers"]
    return ["--proxy-headers", "--forwarded-allow-ips", trusted]


async def create_databases(root_url: str, names: list[str]) -> None:
    """CREATE DATABASE for each name that does not exist yet."""
    import asyncpg

    from kit.outbox import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(root_url.rstrip("/")) + "/postgres")
    try:
        for name in names:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def main() -> None:
    """Run until Ctrl-C or SIGTERM."""
    profile = os.environ.get("ZONE_PROFILE", "dev")
    stack = Stack(
        data_dir=Path(os.environ.get("ZONE_DATA_DIR", ROOT / ".data")),
        host=os.environ.get("ZONE_HOST", "127.0.0.1"),
        gateway_port=int(os.environ.get("ZONE_GATEWAY_PORT", "8000")),
        pg_port=int(os.environ.get("ZONE_PG_PORT", "54329")),
        nats_port=int(os.environ.get("ZONE_NATS_PORT", "4222")),
        profile=profile,
        workers=int(os.environ.get("ZONE_WORKERS", "0")) or min(2, os.cpu_count() or 1),
        trusted_proxies=os.environ.get("ZONE_TRUSTED_PROXIES", ""),
        database_url=os.environ.get("ZONE_DATABASE_URL") or None,
        nats_url=os.environ.get("ZONE_NATS_URL") or None,
        nats_credentials=Path(os.environ["ZONE_NATS_CREDENTIALS"])
        if os.environ.get("ZONE_NATS_CREDENTIALS")
        else None,
        stream_replicas=int(os.environ.get("ZONE_STREAM_REPLICAS", "1")),
    )
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        print("starting PostgreSQL and NATS …", flush=True)
        seed = os.environ.get("ZONE_SEED", "1" if profile == "dev" else "0") == "1"
        stack.start(seed=seed, history=seed and os.environ.get("ZONE_HISTORY", "1") == "1")
        print(_banner(stack), flush=True)
        print(_timings(stack.timings), flush=True)
        while True:
            for name, proc in stack.procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; see {stack.data_dir}/{name}.log")
                    raise KeyboardInterrupt
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nstopping …", flush=True)
        stack.stop()
        print("stopped.", flush=True)


def _timings(timings: dict[str, float]) -> str:
    """`ready in 41.2 s (postgresql, nats 1.9 · migrations 6.1 · …)`; a stage's parts
    (`history: registry`) are listed, not added again."""
    total = sum(s for name, s in timings.items() if ": " not in name)
    parts = " · ".join(f"{name} {seconds:.1f}" for name, seconds in timings.items())
    return f"ready in {total:.1f} s ({parts})"


def _banner(stack: Stack) -> str:
    lines = [
        "",
        "Zone platform is up  (出口产品质量安全示范区平台)",
        f"  gateway     {stack.url('gateway')}   (API docs: {stack.url('gateway')}/docs)",
    ]
    lines += [f"  {name:<11} {stack.url(name)}" for name in APPS if name != "gateway"]
    lines += [
        f"  postgresql  {pg_auth.redact(stack.pg_root_url)}  "
        f"(databases: {', '.join(SERVICE_DATABASES)})",
        *(
            [f"              password in {stack.pg_password_file} (mode 0600)"]
            if stack.database_url is None
            else []
        ),
        f"  nats        {stack.nats_client_url}  (anonymous clients are refused)",
        f"  nats (read-only observer)  {pg_auth.redact(stack.nats_observer_url)}",
        f"              password: {nats_auth.OBSERVER} in {stack.nats_credentials} (mode 0600)",
        f"  logs        {stack.data_dir}/*.log",
    ]
    if stack.profile == "dev":
        lines += [
            "  demo client demo-admin / demo-admin-secret (every scope; dev profile only)",
            f"  dashboard   {stack.url('gateway')}/  (demo-office / ninghai-zone-2017; dev only)",
            f"  portal      {stack.url('gateway')}/portal/  "
            "(demo-enterprise / ninghai-enterprise-2017; dev only)",
            f"  field app   {stack.url('gateway')}/field/  "
            "(demo-inspector or demo-inspector-2 / ninghai-inspector-2017; dev only)",
            "",
            "  Try:",
            f"    TOKEN=$(curl -s -d grant_type=client_credentials -d client_id=demo-admin "
            f"-d client_secret=demo-admin-secret {stack.url('gateway')}/oauth/token "
            "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
            f'    curl -H "Authorization: Bearer $TOKEN" {stack.url("gateway")}/v1/zones',
        ]
    lines += ["", "Ctrl-C stops everything."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
