"""`zone`: the operator CLI (运维命令行).

Local commands (`run`, `migrate`, `seed`) work on this machine's stack and databases; the
others talk to the gateway's HTTP API with a client's credentials, so they obey the same
scopes and the audit log records them like any caller.

Output: the result goes to stdout (the token, the secret, the file written; all of it as
JSON with `--json`); messages, progress bars and errors go to stderr.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from deploy.cli_api import (
    EXIT_CODES_HELP,
    INVALID,
    OK,
    UNAVAILABLE,
    USAGE,
    Api,
    CliError,
    Settings,
)

HELP = (
    "Operator CLI of the export quality demonstration-zone platform (示范区平台运维命令行).\n\n"
    "Admin commands call the gateway (--url, default $ZONE_URL or http://127.0.0.1:8000) with "
    "a client's credentials (--client-id/--client-secret or $ZONE_CLIENT_ID/"
    "$ZONE_CLIENT_SECRET; default demo-admin, which exists only in the dev profile). "
    "Results go to stdout (JSON with --json), messages to stderr.\n\n" + EXIT_CODES_HELP
)
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
client_app = typer.Typer(
    help="OAuth clients (system_admin; security_admin for roles and limits).", no_args_is_help=True
)
user_app = typer.Typer(
    help="People who log in (system_admin; security_admin for roles).", no_args_is_help=True
)
draw_app = typer.Typer(help="Random draws (双随机).", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log (audit_admin).", no_args_is_help=True)
pii_app = typer.Typer(help="Personal information at rest (个人信息).", no_args_is_help=True)
app.add_typer(client_app, name="client")
app.add_typer(user_app, name="user")
app.add_typer(draw_app, name="draw")
app.add_typer(audit_app, name="audit")
app.add_typer(pii_app, name="pii")

stderr = Console(stderr=True)
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
TERMINAL_JOB_STATES = ("done", "failed", "superseded")


class Options:
    """The global options, kept on the Typer context."""

    def __init__(self, url: str | None, client_id: str | None, secret: str | None, as_json: bool):
        self.settings = Settings.resolve(url, client_id, secret)
        self.json = as_json


@app.callback()
def main_options(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(help="Gateway URL [env ZONE_URL]")] = None,
    client_id: Annotated[str | None, typer.Option(help="[env ZONE_CLIENT_ID]")] = None,
    client_secret: Annotated[str | None, typer.Option(help="[env ZONE_CLIENT_SECRET]")] = None,
    as_json: Json = False,
) -> None:
    """Global options (also accepted by each command where it makes sense: --json)."""
    ctx.obj = Options(url, client_id, client_secret, as_json)


def _options(ctx: typer.Context) -> Options:
    options = ctx.find_object(Options)
    return options if options is not None else Options(None, None, None, False)


def say(message: str) -> None:
    """A human message on stderr."""
    stderr.print(message, highlight=False, markup=False)


def result(ctx: typer.Context, as_json: bool, data: Any, human: str) -> None:
    """The command's result on stdout: JSON, or one readable line."""
    if as_json or _options(ctx).json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(human + "\n")
    sys.stdout.flush()


@contextmanager
def api(ctx: typer.Context) -> Iterator[Api]:
    """A gateway client for one command; CliErrors become a stderr line and the exit code.
    Which gateway it talks to is said on stderr first (never silently the default)."""
    settings = _options(ctx).settings
    say(f"gateway: {settings.url}{'' if settings.url_given else ' (default; --url or $ZONE_URL)'}")
    client = Api(settings)
    try:
        yield client
    except CliError as exc:
        say(f"error: {exc.message}")
        raise typer.Exit(exc.code) from exc
    finally:
        client.close()


# ── local: the stack and its databases ─────────────────────────────────────────────────────


@app.command()
def run() -> None:
    """Start PostgreSQL, NATS, the services and the gateway (as `make run`); Ctrl-C stops.
    Configured by ZONE_PROFILE, ZONE_DATA_DIR, ZONE_GATEWAY_PORT, ZONE_DATABASE_URL …"""
    from deploy.launcher import main as launch

    launch()


def _local(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except (OSError, ConnectionError) as exc:
        say(f"error: PostgreSQL is not reachable: {exc}")
        raise typer.Exit(UNAVAILABLE) from exc


@app.command()
def migrate(ctx: typer.Context, as_json: Json = False) -> None:
    """Create the service databases if needed and apply every migration to
    $ZONE_DATABASE_URL (the server's root URL), else the embedded server on $ZONE_PG_PORT."""
    from deploy.migrate import migrate_all, root_url

    databases = _local(lambda: migrate_all(root_url(), report=say))
    result(ctx, as_json, {"migrated": databases}, f"migrated: {', '.join(databases)}")


@app.command()
def seed(ctx: typer.Context, as_json: Json = False) -> None:
    """Load the Ninghai demo data (agencies, zones, enterprises, labs); again, nothing new."""
    import asyncio

    from deploy import pii_keys
    from deploy.migrate import local_keys, root_url
    from deploy.seed import seed as load

    def run_seed() -> dict[str, int]:
        with pii_keys.in_process(local_keys()):  # the keys the running registry uses
            return asyncio.run(load(f"{root_url().rstrip('/')}/registry"))

    counts = _local(run_seed)
    result(ctx, as_json, counts, ", ".join(f"{k}: {v}" for k, v in counts.items()))


@pii_app.command("reencrypt")
def pii_reencrypt(
    ctx: typer.Context,
    service: Annotated[
        list[str] | None,
        typer.Option(help="registry or gateway (repeatable); default both"),
    ] = None,
    as_json: Json = False,
) -> None:
    """Rewrite the encrypted columns of the registry (personal information) and the gateway
    (users' names, signing keys) under each one's current key: after adding a key to
    <PREFIX>PII_KEYS and naming it in <PREFIX>PII_KEY_ID, before removing the old one. The
    databases: $REGISTRY_DATABASE_URL and $GATEWAY_DATABASE_URL, else $ZONE_DATABASE_URL's;
    the keys: $REGISTRY_PII_KEYS and $GATEWAY_PII_KEYS, else `make run`'s file."""
    import asyncio
    import os

    from deploy import pii_keys
    from deploy.migrate import local_keys, root_url

    chosen = service or list(pii_keys.SERVICES)
    unknown = sorted(set(chosen) - set(pii_keys.SERVICES))
    if unknown:
        raise typer.BadParameter(
            f"no encrypted columns in {', '.join(unknown)}", param_hint="--service"
        )

    def run() -> dict[str, int]:
        counts: dict[str, int] = {}
        with pii_keys.in_process(local_keys()):
            for name, prefix in pii_keys.SERVICES.items():
                if name not in chosen:
                    continue
                url = os.environ.get(f"{prefix}DATABASE_URL") or f"{root_url().rstrip('/')}/{name}"
                done = asyncio.run(pii_keys.reencrypt(name, url))
                counts.update({f"{name}.{table}": n for table, n in done.items()})
        return counts

    counts = _local(run)
    result(ctx, as_json, counts, ", ".join(f"{k}: {v} rewritten" for k, v in counts.items()))


# ── clients, users, tokens ─────────────────────────────────────────────────────────────────

Scopes = Annotated[
    list[str],
    typer.Option(
        "--scope", "-s", help="A scope (repeat): registry:read, credit:write, system_admin …"
    ),
]


@client_app.command("create")
def client_create(
    ctx: typer.Context,
    client_id: Annotated[str, typer.Argument(help="e.g. customs-ningbo")],
    name: Annotated[str, typer.Option(help="Who the client is")],
    scope: Scopes,
    agency: Annotated[str | None, typer.Option(help="Agency code, e.g. ciq")] = None,
    uscc: Annotated[str | None, typer.Option(help="Bind to one enterprise")] = None,
    inspector_id: Annotated[str | None, typer.Option(help="Bind to one inspector")] = None,
    as_json: Json = False,
) -> None:
    """Create an OAuth client; its secret is printed once (only its hash is stored)."""
    body = {
        "client_id": client_id,
        "name": name,
        "scopes": scope,
        "agency": agency,
        "uscc": uscc,
        "inspector_id": inspector_id,
    }
    with api(ctx) as gateway:
        created = gateway.post("/v1/clients", {k: v for k, v in body.items() if v is not None})
    say(f"client {created['client_id']} created; keep its secret, it is shown only now")
    result(ctx, as_json, created, created["client_secret"])


class UserKind(StrEnum):
    """Who a user is."""

    office = "office"
    enterprise = "enterprise"
    inspector = "inspector"


@user_app.command("create")
def user_create(
    ctx: typer.Context,
    username: str,
    name: Annotated[str, typer.Option(help="The person's name")],
    scope: Scopes,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="ZONE_USER_PASSWORD",
            help="At least 12 characters [env ZONE_USER_PASSWORD; prompted otherwise]",
        ),
    ],
    kind: Annotated[UserKind, typer.Option(help="office, enterprise or inspector")] = (
        UserKind.office
    ),
    agency: Annotated[str | None, typer.Option()] = None,
    uscc: Annotated[str | None, typer.Option(help="For an enterprise user")] = None,
    inspector_id: Annotated[str | None, typer.Option(help="For an inspector")] = None,
    as_json: Json = False,
) -> None:
    """Create a user who logs in with a password (stored as an argon2id hash)."""
    body = {
        "kind": kind.value,
        "username": username,
        "password": password,
        "name": name,
        "scopes": scope,
        "agency": agency,
        "uscc": uscc,
        "inspector_id": inspector_id,
    }
    with api(ctx) as gateway:
        created = gateway.post("/v1/users", {k: v for k, v in body.items() if v is not None})
    say(f"user {created['username']} created")
    result(ctx, as_json, created, created["username"])


@app.command()
def token(
    ctx: typer.Context,
    scope: Annotated[
        str | None, typer.Option(help="Ask for fewer scopes (space-separated)")
    ] = None,
    as_json: Json = False,
) -> None:
    """Print an access token for the client (e.g. TOKEN=$(zone token))."""
    with api(ctx) as gateway:
        answer = gateway.token(scope)
    say(f"token for {gateway.settings.client_id}, valid {answer.get('expires_in')} s")
    result(ctx, as_json, answer, answer["access_token"])


# ── checks ─────────────────────────────────────────────────────────────────────────────────


@draw_app.command("verify")
def draw_verify(
    ctx: typer.Context,
    campaign: Annotated[uuid.UUID, typer.Argument(help="The campaign's id")],
    as_json: Json = False,
) -> None:
    """Replay a campaign's draw from its stored seed and inputs; exit 4 if it differs."""
    with api(ctx) as gateway:
        check = gateway.get(f"/v1/campaigns/{campaign}/draw/verify")
    result(ctx, as_json, check, "match" if check["matches"] else "MISMATCH")
    if not check["matches"]:
        say(f"the draw does not verify: {check.get('detail')}")
        raise typer.Exit(INVALID)
    say(f"the draw of {campaign} verifies: {check.get('detail')}")


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, as_json: Json = False) -> None:
    """Walk the audit log's hash chain; exit 4 at the first changed, removed or added row."""
    with api(ctx) as gateway:
        check = gateway.get("/v1/audit/verify")
    result(ctx, as_json, check, "ok" if check["ok"] else "BROKEN")
    if not check["ok"]:
        say(f"the audit chain is broken at {check.get('first_broken')}")
        raise typer.Exit(INVALID)
    say(f"the audit chain holds ({check['checked']} rows checked)")


# ── dossier and rescoring ──────────────────────────────────────────────────────────────────


class DossierFormat(StrEnum):
    """The dossier's file formats."""

    pdf = "pdf"
    xlsx = "xlsx"


def _filename(disposition: str, fallback: str) -> str:
    """The ASCII filename of a Content-Disposition, without any path."""
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value:
            return Path(value.strip('"')).name or fallback
    return fallback


@app.command()
def dossier(
    ctx: typer.Context,
    zone: Annotated[str, typer.Argument(help="Zone code, e.g. lighting-provincial")],
    file_format: Annotated[DossierFormat, typer.Option("--format", "-f")] = DossierFormat.pdf,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write ('-' = stdout); default: the "
            "server's file name in the current folder",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Download a zone's acceptance dossier (验收申报材料) as PDF or Excel."""
    with api(ctx) as gateway, gateway.download(f"/v1/zones/{zone}/dossier.{file_format}") as r:
        fallback = f"dossier-{zone}.{file_format}"
        target = output or Path(_filename(r.headers.get("content-disposition", ""), fallback))
        total = int(r.headers.get("content-length") or 0) or None
        chunks: list[bytes] = []
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            console=stderr,
            transient=True,
        ) as progress:
            task = progress.add_task(f"dossier {zone}.{file_format}", total=total)
            for chunk in r.iter_bytes():
                chunks.append(chunk)
                progress.update(task, advance=len(chunk))
        content = b"".join(chunks)
    if str(target) == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        say(f"{len(content)} bytes written to stdout")
        return
    target.write_bytes(content)
    say(f"{zone}: {len(content)} bytes written to {target}")
    result(
        ctx,
        as_json,
        {"zone": zone, "format": file_format.value, "path": str(target), "bytes": len(content)},
        str(target),
    )


@app.command()
def rescore(
    ctx: typer.Context,
    wait: Annotated[bool, typer.Option(help="Follow the job to its end")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the job")] = 600,
    as_json: Json = False,
) -> None:
    """Rescore every enterprise under the credit model in force, with a progress bar."""
    with api(ctx) as gateway:
        job = gateway.post("/v1/credit/jobs", {"reason": "manual"})
        say(f"rescoring job {job['id']} {job['status']}")
        if wait:
            job = _follow(gateway, job, timeout)
    result(ctx, as_json, job, f"{job['id']} {job['status']} {job['processed']}/{job['total']}")
    if job["status"] == "failed":
        say(f"the job failed: {job.get('error')}")
        raise typer.Exit(UNAVAILABLE)
    if wait and job["status"] not in TERMINAL_JOB_STATES:
        say(f"still {job['status']} after {timeout:g} s; follow it at /v1/credit/jobs/{job['id']}")
        raise typer.Exit(UNAVAILABLE)


def _follow(gateway: Api, job: dict[str, Any], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with Progress(
        SpinnerColumn(),
        TextColumn("rescoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[changes]} level changes"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        task = progress.add_task("rescore", total=job["total"] or None, changes=0)
        while job["status"] not in TERMINAL_JOB_STATES and time.monotonic() < deadline:
            time.sleep(0.3)
            job = gateway.get(f"/v1/credit/jobs/{job['id']}")
            progress.update(
                task,
                total=job["total"] or None,
                completed=job["processed"],
                changes=job["level_changes"],
            )
    say(
        f"job {job['id']}: {job['status']}, {job['processed']}/{job['total']} rescored, "
        f"{job['level_changes']} level changes"
    )
    return job


GLOBAL_OPTIONS = ("--url", "--client-id", "--client-secret")


def hoist_global_options(args: list[str]) -> list[str]:
    """The arguments with the global options moved before the command, so that
    `zone dossier ZONE --url …` means what `zone --url … dossier ZONE` means. Everything
    after `--` stays where it is; an option missing its value is left for Click to refuse."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if arg.split("=", 1)[0] in GLOBAL_OPTIONS:
            taken = 1 if "=" in arg or i + 1 == len(args) else 2
            (front if taken == 2 or "=" in arg else rest).extend(args[i : i + taken])
            i += taken
            continue
        rest.append(arg)
        i += 1
    return front + rest


class ImportKind(StrEnum):
    """What an import file holds."""

    enterprises = "enterprises"
    surveys = "surveys"
    memberships = "memberships"
    safety_gate = "safety-gate"  # an EU Safety Gate alerts export → risk signals
    eping = "eping"  # a WTO ePing notifications export → TBT bulletins
    inspectors = "inspectors"  # an agency's roster of officers → the inspector pool


# Where each kind is imported: registry's jobs, or the feeds' in the owning service.
IMPORT_PATHS = {
    ImportKind.safety_gate: "/v1/risk/signals/imports",
    ImportKind.eping: "/v1/bulletins/imports",
    ImportKind.inspectors: "/v1/inspectors/imports",
}


IMPORT_MEDIA = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv",
}


@app.command("import")
def import_file(
    ctx: typer.Context,
    kind: Annotated[
        ImportKind,
        typer.Argument(help="enterprises, surveys, memberships, inspectors, safety-gate or eping"),
    ],
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help=".xlsx, or .csv (UTF-8 or GB 18030)"
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; write nothing")
    ] = False,
    rejected: Annotated[
        Path | None,
        typer.Option(help="Write the rejected rows (.xlsx, with a reason column) to this file"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the job")] = 1800,
    as_json: Json = False,
) -> None:
    """Import a spreadsheet (批量导入) with a progress bar, then a summary. Columns are found
    by their headings (统一社会信用代码, 企业名称, 年度出口额（美元）…; docs/api.md). A
    `safety-gate` or `eping` file is the export as its site publishes it. Exit 4 when rows
    were rejected (`--rejected` saves them to fix and import again)."""
    media = IMPORT_MEDIA.get(file.suffix.lower(), "application/octet-stream")
    path = IMPORT_PATHS.get(kind, "/v1/imports")
    form = {"dry_run": "true" if dry_run else "false"}
    if path == "/v1/imports":
        form["kind"] = kind.value
    with api(ctx) as gateway:
        job = gateway.upload(path, (file.name, file.read_bytes(), media), form)
        say(f"import {job['id']} {job['status']}{' (dry run)' if dry_run else ''}")
        if job["unknown_headings"]:
            say(f"columns ignored (heading not known): {', '.join(job['unknown_headings'])}")
        job = _follow_import(gateway, path, job, timeout)
        failures = gateway.get(f"{path}/{job['id']}/outcomes?outcome=rejected&limit=20")
        if rejected is not None and job["counts"]["rejected"]:
            with gateway.download(f"{path}/{job['id']}/rejected") as r:
                rejected.write_bytes(r.read())
    counts = job["counts"]
    would = "would be " if job["dry_run"] else ""
    for row in failures["items"]:
        say(f"row {row['row']}: {row['field'] or '-'}: {row['reason_en']} ({row['reason_zh']})")
    if counts["rejected"] > len(failures["items"]):
        say(f"… {counts['rejected'] - len(failures['items'])} more rejected rows")
    if rejected is not None and counts["rejected"]:
        say(f"rejected rows written to {rejected}")
    human = (
        f"{job['id']} {job['status']}: {counts['rows']} rows, {counts['created']} {would}created, "
        f"{counts['updated']} {would}updated, {counts['unchanged']} unchanged, "
        f"{counts['rejected']} rejected"
    )
    result(ctx, as_json, job, human)
    if job["status"] == "failed":
        say(f"the import failed: {job.get('error')}")
        raise typer.Exit(UNAVAILABLE)
    if job["status"] != "done":
        say(f"still {job['status']} after {timeout:g} s; follow it at {path}/{job['id']}")
        raise typer.Exit(UNAVAILABLE)
    if counts["rejected"]:
        raise typer.Exit(INVALID)


def _follow_import(gateway: Api, path: str, job: dict[str, Any], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with Progress(
        SpinnerColumn(),
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rejected]} rejected"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        task = progress.add_task("import", total=job["estimated_rows"], rejected=0)
        while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.3)
            job = gateway.get(f"{path}/{job['id']}")
            progress.update(
                task,
                total=job["estimated_rows"],
                completed=job["counts"]["rows"],
                rejected=job["counts"]["rejected"],
            )
    return job


def main() -> None:
    """The console script: Typer's app with the exit codes above (Click's own usage errors
    exit 2, which here means "not found", so they are mapped to 1). Global options are
    accepted after the command too."""
    command = typer.main.get_command(app)
    try:
        code = command.main(
            args=hoist_global_options(sys.argv[1:]), prog_name="zone", standalone_mode=False
        )
    except typer.Abort:
        say("aborted")
        code = USAGE
    except typer.TyperException as exc:  # Typer's (vendored Click's) usage errors
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            say(f"error: {exc}")
        code = USAGE
    sys.exit(code if isinstance(code, int) else OK)


if __name__ == "__main__":
    main()
