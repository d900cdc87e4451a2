"""Async engine, one-transaction-per-request session, and the declarative base."""

from __future__ import annotations

import asyncio
import logging
import re
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Annotated, Any, TypeVar, cast

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Dialect,
    MetaData,
    Select,
    TextClause,
    case,
    event,
    func,
    literal,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine

from kit.problems import NotFound
from kit.settings import ServiceSettings

log = logging.getLogger("kit.db")
T = TypeVar("T")

# Stable constraint names across migrations (Polar's kit/db/models/base.py does the same).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The demo history's clock (deploy/history.py): set only by `clock_at`, never in a service.
_clock: ContextVar[datetime | None] = ContextVar("kit_db_clock", default=None)


def utcnow() -> datetime:
    """Timezone-aware now in UTC (the moment `clock_at` names, inside it)."""
    return _clock.get() or datetime.now(UTC)


@contextmanager
def clock_at(at: datetime) -> Iterator[None]:
    """Within the block (this task and what it awaits), `utcnow` answers `at`: the demo
    history records the past through the service layer as it happened then, with each row's
    and event's own time. A loader's tool: no service sets it."""
    token = _clock.set(at)
    try:
        yield
    finally:
        _clock.reset(token)


TYPE_ANNOTATION_MAP = {datetime: DateTime(timezone=True)}


class Base(DeclarativeBase):
    """Declarative base of kit's own tables (outbox, inbox, idempotency keys), which every
    service database holds. Each service declares its own base (its `base.py`, the same two
    lines) so its tables live on a metadata of their own: two services may both have an
    `enterprises` table, and one process (the launcher, a test) may import both."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = TYPE_ANNOTATION_MAP


class TimestampMixin:
    """created_at / updated_at columns."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def make_engine(settings: ServiceSettings) -> AsyncEngine:
    """Engine whose connects and statements fail fast, so an outage becomes a 503, not a hang.

    No pre-ping (it costs a round trip per request): a connection broken by a database
    restart fails its request with a 503 and is discarded by the pool.

    Statement parameters stay out of error messages, so out of the logs: they may carry a
    person's name (the gateway's users) or anything a caller typed.
    """
    return create_async_engine(
        settings.database_url,
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=settings.db_connect_timeout_s,
        connect_args={
            "timeout": settings.db_connect_timeout_s,
            "command_timeout": settings.db_statement_timeout_ms / 1000,
            "server_settings": {"statement_timeout": str(settings.db_statement_timeout_ms)},
        },
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory; objects stay usable after commit for response serialisation."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class ReadOnlySession(Session):
    """A session that refuses to write: an INSERT, UPDATE or DELETE run through it (ORM,
    Core or SQL text that is not a query), or a flush with changes, raises `ReadOnlyError`
    (a bug: a GET that writes). Statements sent on its raw connection are not checked."""


# SQL text that only reads (a data-modifying WITH is not told apart: do not write one)
_READS = re.compile(r"\s*\(*\s*(SELECT|WITH|VALUES|SHOW|EXPLAIN)\b", re.IGNORECASE)


class ReadOnlyError(RuntimeError):
    pass


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_writes(state: ORMExecuteState) -> None:
    statement = state.statement
    writes = state.is_insert or state.is_update or state.is_delete
    if writes or (isinstance(statement, TextClause) and not _READS.match(statement.text)):
        raise ReadOnlyError(f"a read-only request ran {type(statement).__name__}")


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_changes(session: Session, *_: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyError("a read-only request changed objects")


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for GET and HEAD: each statement on its own (autocommit), no BEGIN and
    COMMIT round trips. Under READ COMMITTED each statement of a transaction takes its own
    snapshot anyway, so reads see what they would have; writes are refused."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        sync_session_class=ReadOnlySession,
        expire_on_commit=False,
        autoflush=False,
    )


class ReadPool:
    """Plain asyncpg connections of this process for the reads served most (`Prepared` run
    on it): no session, no SQLAlchemy pool checkout and return, no greenlet; a key lookup
    spent more on those than on its statement. At most `size` connections, opened as
    needed and kept; a caller finding them all busy waits up to `timeout_s` (then
    `TimeoutError`, answered 503 like the engine's pool timeout). Each statement commits on
    its own (asyncpg runs outside a transaction unless told), as a GET's read session does,
    and the connections are read-only (`default_transaction_read_only`): a write sent on one
    fails in PostgreSQL. A connection that failed or was interrupted mid-statement is closed,
    not reused; one found closed (the database restarted) is replaced."""

    def __init__(
        self,
        dsn: str,
        dialect: Dialect,
        *,
        size: int,
        timeout_s: float,
        statement_timeout_ms: int,
    ) -> None:
        self.dsn = dsn
        self.dialect = dialect
        self.timeout_s = timeout_s
        self.statement_timeout_ms = statement_timeout_ms
        self._idle: list[asyncpg.Connection] = []
        self._slots = asyncio.Semaphore(size)

    @classmethod
    def of(cls, engine: AsyncEngine, settings: ServiceSettings) -> ReadPool:
        """A pool on `engine`'s database with its limits (size, timeouts)."""
        return cls(
            engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
            engine.dialect,
            size=settings.db_read_pool_size,
            timeout_s=settings.db_connect_timeout_s,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )

    async def acquire(self) -> asyncpg.Connection:
        """A connection of the pool, to hand back with `release` (or `discard`)."""
        if self._slots.locked():
            async with asyncio.timeout(self.timeout_s):
                await self._slots.acquire()
        else:
            await self._slots.acquire()  # a free slot: taken without waiting
        try:
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():
                    return connection
            return await self._connect()
        except BaseException:
            self._slots.release()
            raise

    def release(self, connection: asyncpg.Connection) -> None:
        """Hand back a connection whose statement finished (or failed in PostgreSQL)."""
        if connection.is_closed() or connection.is_in_transaction():
            connection.terminate()
        else:
            self._idle.append(connection)
        self._slots.release()

    def discard(self, connection: asyncpg.Connection) -> None:
        """Close a connection interrupted mid-statement (or broken) instead of reusing it."""
        connection.terminate()
        self._slots.release()

    async def _connect(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(
            self.dsn,
            timeout=self.timeout_s,
            command_timeout=self.statement_timeout_ms / 1000,
            server_settings={
                "statement_timeout": str(self.statement_timeout_ms),
                "default_transaction_read_only": "on",
            },
        )
        try:  # JSON decoded as the engine's connections decode it (SQLAlchemy's codecs)
            adapted = types.SimpleNamespace(_connection=connection)
            await self.dialect.setup_asyncpg_json_codec(adapted)  # type: ignore[attr-defined]
            await self.dialect.setup_asyncpg_jsonb_codec(adapted)  # type: ignore[attr-defined]
        except BaseException:
            connection.terminate()
            raise
        return connection

    async def close(self) -> None:
        """Close the idle connections (at shutdown)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await asyncio.wait_for(connection.close(), timeout=2)
            except Exception:
                connection.terminate()


def read_pool(request: Request) -> ReadPool:
    """The app's `ReadPool` (kit.app makes one per process)."""
    pool: ReadPool = request.app.state.read_pool
    return pool


# What `Prepared` runs on: a request's session, or the app's read pool (no session at all).
Reads = AsyncSession | ReadPool


class Prepared:
    """A Core SELECT compiled once, run on the session's own asyncpg connection or on a
    `ReadPool`'s: for the reads served most (key lookups), without SQLAlchemy's per-call
    statement cache lookup, ORM loading and result machinery, which cost a key lookup more
    than the round trip.

    asyncpg prepares the text once per connection (its statement cache). Each column's
    result processor still applies (decryption of `EncryptedString`, arrays), and every
    bind parameter not given keeps the value the statement was built with. Rows come back
    as dicts keyed by column label. The read-only session does not see it, and the read
    pool's connections refuse writes. In a write transaction run it after the transaction's
    first statement: SQLAlchemy sends the BEGIN with its first statement, so one sent past
    it first runs on its own. A request whose only write is one statement (a registration
    and its outbox event, in data-modifying CTEs) uses exactly that: the statement is its
    transaction, with no BEGIN and COMMIT round trips; nothing may run after it."""

    def __init__(self, statement: Select[*tuple[Any, ...]] | UpdateBase) -> None:
        self.statement = statement
        self._plan: _Plan | None = None

    async def _compile(self, dialect: Dialect, raw: Any) -> _Plan:
        compiled = self.statement.compile(dialect=dialect)
        binds = compiled._bind_processors
        # the result processors need each column's type as the server describes it (NUMERIC)
        described = (await raw.prepare(compiled.string)).get_attributes()
        return _Plan(
            sql=compiled.string,
            names=tuple(compiled.positiontup or ()),
            defaults=dict(compiled.params),
            binds={
                n: cast(Callable[[Any], Any], binds[n])
                for n in compiled.positiontup or ()
                if n in binds
            },
            columns=tuple(
                (column[0], column[3]._cached_result_processor(dialect, attribute.type.oid))
                for column, attribute in zip(compiled._result_columns, described, strict=True)
            ),
        )

    async def all(self, on: Reads, **params: Any) -> list[dict[str, Any]]:
        """Every row, with `params` bound by name, read through `on` (a session or a pool)."""
        if isinstance(on, ReadPool):
            raw = await on.acquire()
            try:
                rows = await self._fetch(on.dialect, raw, params)
            except asyncpg.PostgresError:  # refused by the server: the connection is fine
                on.release(raw)
                raise
            except BaseException:
                on.discard(raw)
                raise
            on.release(raw)
        else:
            connection = await on.connection()
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            try:
                rows = await self._fetch(connection.dialect, driver, params)
            except asyncpg.PostgresError:  # refused by the server: the connection is fine
                raise
            except BaseException:
                # lost (a restart) or interrupted mid-statement: never handed out again
                await connection.invalidate()
                raise
        return self._dicts(rows)

    async def _fetch(self, dialect: Dialect, raw: Any, params: dict[str, Any]) -> list[Any]:
        if self._plan is None:
            self._plan = await self._compile(dialect, raw)
        plan = self._plan
        args = []
        for name in plan.names:
            value = params[name] if name in params else plan.defaults[name]
            bind = plan.binds.get(name)
            args.append(bind(value) if bind is not None else value)
        return await raw.fetch(plan.sql, *args)  # type: ignore[no-any-return]

    def _dicts(self, rows: list[Any]) -> list[dict[str, Any]]:
        plan = self._plan
        assert plan is not None
        keys, processed = plan.keys, plan.processed
        dicts = [dict(zip(keys, row, strict=True)) for row in rows]
        if processed:  # only the columns with a result processor visit each row again
            for row in dicts:
                for key, process in processed:
                    row[key] = process(row[key])
        return dicts


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    binds: dict[str, Callable[[Any], Any]]
    columns: tuple[tuple[str, Callable[[Any], Any] | None], ...]

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """Each row's keys, in column order."""
        return tuple(key for key, _ in self.columns)

    @cached_property
    def processed(self) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
        """The columns with a result processor, and theirs."""
        return tuple((key, process) for key, process in self.columns if process is not None)


async def get_or_404(
    session: AsyncSession, model: type[T], key: Any, what: str, *, for_update: bool = False
) -> T:
    """The row of `model` with primary key `key` (locked FOR UPDATE when asked), else a 404
    problem naming `what` and the key."""
    row = await session.get(model, key, with_for_update=for_update)
    if row is None:
        raise NotFound(what, str(key))
    return row


READS = frozenset({"GET", "HEAD"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit on success, roll back on any error. A GET or
    HEAD reads without a transaction of its own (see `make_read_sessionmaker`)."""
    if request.method in READS:
        async with request.app.state.read_sessionmaker() as reader:
            yield reader
        return
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": commit before the response is sent, so a failed commit is the response.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def newer_than_mirrored(
    sequence_column: Any, time_column: Any, sequence: Any, at: Any
) -> ColumnElement[bool]:
    """A condition for mirroring another service's state only when it is newer than the copy
    held: by the producer's sequence where both have one (an event's own `time` cannot put
    it ahead), else by time (rows and events from before sequences). `sequence` and `at` are
    values, or the columns of incoming rows (`values_table`), a NULL sequence included."""
    by_time = time_column.is_(None) | (time_column < at)
    if isinstance(sequence, ColumnElement):
        return case(
            (sequence.is_(None), sequence_column.is_(None) & by_time),
            (sequence_column.is_not(None), sequence_column < sequence),
            else_=by_time,
        )
    if sequence is None:  # never over a sequenced copy (nor erasing its sequence)
        return sequence_column.is_(None) & by_time  # type: ignore[no-any-return]
    return case((sequence_column.is_not(None), sequence_column < sequence), else_=by_time)


def values_table(**columns: tuple[Sequence[Any], TypeEngine[Any]]) -> TableValuedAlias:
    """Many rows as one table in a statement, an array per column (`unnest(…) AS t(…)`):
    `UPDATE … FROM` or `INSERT … SELECT` a whole batch in one round trip, whatever its size
    (one parameter per column, not per value)."""
    arrays = (literal(list(values), ARRAY(type_)) for values, type_ in columns.values())
    return func.unnest(*arrays).table_valued(*columns).render_derived(name="incoming")


def once_each(items: Sequence[T], key: Callable[[T], Any]) -> Iterator[list[T]]:
    """`items` in order, cut where a key comes again: a statement over `values_table` updates
    a row at most once, so each piece is one statement and the pieces keep the order."""
    piece: list[T] = []
    seen: set[Any] = set()
    for item in items:
        if key(item) in seen:
            yield piece
            piece, seen = [], set()
        piece.append(item)
        seen.add(key(item))
    if piece:
        yield piece


async def listen(
    dsn: str,
    channel: str,
    wake: asyncio.Event,
    *,
    measure: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    every_s: float = 2.0,
    on_lost: Callable[[], None] | None = None,
) -> None:
    """LISTEN on `channel` on a raw connection (`dsn`, libpq form) and set `wake` on every
    notification, and once on each (re)connect to catch up with what was committed while
    away; `measure(conn)` runs every `every_s` on the same connection. Reconnects after
    outages; cancel to stop. Notifications are transactional: sent on commit, never for a
    rolled-back write. `on_lost()` is called as soon as the connection is found gone (or
    cannot be made): for whoever must not trust what it heard until the next wake."""
    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(dsn, timeout=3)
            if on_lost is not None:  # the server closing it, heard at once
                conn.add_termination_listener(lambda _: on_lost())
            await conn.add_listener(channel, lambda *_: wake.set())
            wake.set()
            while not conn.is_closed():
                if measure is not None:
                    await measure(conn)
                else:  # a half-open socket hears nothing: find out, and reconnect
                    await conn.fetchval("SELECT 1", timeout=5)
                await asyncio.sleep(every_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.debug("listener on %s reconnecting: %r", channel, exc)
            if on_lost is not None:
                on_lost()
            await asyncio.sleep(1)
        finally:
            if conn is not None and not conn.is_closed():
                conn.terminate()
