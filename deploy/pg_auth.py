"""The embedded PostgreSQL's password: generated once into the data folder
(`<data>/postgres-password`, mode 0600) and kept across restarts, like the NATS passwords.
The server stores it as SCRAM and asks every connection for it (`pg_hba.conf`:
scram-sha-256, no trust), as production's does, so a local user without the file cannot
read the platform's databases (the dev signing key among them).

The launcher, the tests, `make migrate` and `zone seed` put it in the URLs they hand out;
what prints a URL shows it with the password hidden (`redact`). `make clean` removes it with
the data folder.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = "postgres-password"
USER = "postgres"


def path_for(data_dir: Path) -> Path:
    """The password file of a stack's data folder."""
    return data_dir / FILE_NAME


def read(path: Path) -> str | None:
    """The password in `path`, or None when there is no such file."""
    if not path.exists():
        return None
    return path.read_text().strip() or None


def load_or_create(path: Path) -> str:
    """The password in `path`, generated (URL-safe, 32 characters) on first use."""
    existing = read(path)
    if existing is not None:
        return existing
    password = secrets.token_urlsafe(24)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    os.replace(tmp, path)
    return password


def root_url(port: int | str, password: str | None) -> str:
    """The embedded server's URL without a database."""
    secret = f":{password}" if password else ""
    return f"postgresql+asyncpg://{USER}{secret}@127.0.0.1:{port}"


def redact(url: str) -> str:
    """`url` with its password (if any) shown as `…`: for banners and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':…' if colon else ''}@{host}"
