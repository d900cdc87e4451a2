"""The audit log's gap-free numbering: rows from before it are numbered in chain order by
the migration and still verify, and the writer leaves no gap when a batch fails."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import column, insert, pool, select, table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from deploy.launcher import ALEMBIC_INI, create_databases
from gateway.audit import service
from gateway.audit.models import AuditEntry
from gateway.audit.service import GENESIS, AuditWriter, chain_hash, verify
from kit.migrations import upgrade

BEFORE = "59e8656d7b62"  # the gateway's head before the audit log had intents


def _migrate(url: str, revision: str) -> None:
    with ThreadPoolExecutor(1) as thread:  # Alembic runs an event loop of its own
        thread.submit(upgrade, ALEMBIC_INI, "gateway", url, revision).result()


def _legacy(n: int, prev: str) -> dict[str, object]:
    entry: dict[str, object] = {
        "at": datetime(2026, 11, 30, 8, 0, tzinfo=UTC) + timedelta(seconds=n),
        "request_id": f"legacy-{n}",
        "actor": "demo-admin",
        "agency": "commerce",
        "uscc": None,
        "inspector_id": None,
        "method": "POST",
        "path": "/v1/enterprises",
        "object_key": None,
        "status": 201,
        "outcome": "success",
    }
    digest = chain_hash(prev, entry)
    return {**entry, "prev_hash": prev, "hash": digest}


async def _entries(engine: AsyncEngine) -> list[tuple[int, str | None, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(AuditEntry.seq, AuditEntry.phase, AuditEntry.request_id).order_by(AuditEntry.seq)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def _verify(engine: AsyncEngine, head: tuple[int, str] | None = None) -> dict[str, object]:
    async with AsyncSession(engine) as session:
        return await verify(session, head=head)


@pytest.fixture
async def legacy_database(postgres: str) -> str:
    """A gateway database one migration short of the gap-free numbering."""
    await create_databases(postgres, ["gateway_audit_migration"])
    url = f"{postgres}/gateway_audit_migration"
    await asyncio.to_thread(_migrate, url, BEFORE)
    return url


async def test_old_rows_are_numbered_in_chain_order_and_still_verify(legacy_database: str) -> None:
    engine = create_async_engine(legacy_database, poolclass=pool.NullPool)
    # the table as it was: no phase, no intent_seq, seq an identity
    add = insert(table("audit_log", *(column(name) for name in _legacy(0, GENESIS))))
    prev = GENESIS
    try:
        for n in range(5):
            row = _legacy(n, prev)
            if n == 2:  # a rolled-back insert: the old identity skips a value here
                async with engine.connect() as conn:
                    transaction = await conn.begin()
                    await conn.execute(add, {**row, "request_id": "rolled-back", "hash": "f" * 64})
                    await transaction.rollback()
            async with engine.begin() as conn:
                await conn.execute(add, row)
            prev = str(row["hash"])
        async with engine.connect() as conn:
            old = (await conn.execute(text("SELECT seq FROM audit_log ORDER BY seq"))).scalars()
            assert list(old) == [1, 2, 4, 5, 6]
        await asyncio.to_thread(_migrate, legacy_database, "head")

        assert await _entries(engine) == [(n + 1, None, f"legacy-{n}") for n in range(5)]
        assert await _verify(engine) == {
            "ok": True,
            "checked": 5,
            "first_broken": None,
            "unfinished": 0,
        }
        writer = AuditWriter(engine)
        try:
            seq = await writer.append(_new_intent("after-migration"))
        finally:
            await writer.close()
        assert seq == 6 and writer.head is not None and writer.head[0] == 6
        report = await _verify(engine, head=writer.head)
        assert report["ok"] is True and report["checked"] == 6 and report["unfinished"] == 1
    finally:
        await engine.dispose()


def _new_intent(request_id: str, **extra: object) -> dict[str, object]:
    return {
        "phase": "intent",
        "intent_seq": None,
        "request_id": request_id,
        "actor": "demo-admin",
        "agency": "commerce",
        "uscc": None,
        "inspector_id": None,
        "method": "PATCH",
        "path": "/v1/enterprises/x",
        "object_key": "x",
        "status": None,
        "outcome": None,
        **extra,
    }


async def test_a_failed_batch_leaves_no_gap(migrated) -> None:  # type: ignore[no-untyped-def]
    engine = create_async_engine(migrated("gateway"), poolclass=pool.NullPool)
    writer = AuditWriter(engine)
    try:
        first = await writer.append(_new_intent("gap-free-1"))
        with pytest.raises(Exception, match="too long"):
            await writer.append(_new_intent("gap-free-2", method="X" * 40))
        second = await writer.append(_new_intent("gap-free-3"))
        assert second == first + 1
        assert (await _verify(engine, head=writer.head))["ok"] is True
    finally:
        await writer.close()
        await engine.dispose()


async def test_only_outcomes_alone_skip_the_wal_flush(migrated) -> None:  # type: ignore[no-untyped-def]
    """An intent (what acknowledges a write) always commits durably, also in a batch with
    outcomes; a batch of outcomes alone commits without waiting for its WAL flush."""
    engine = create_async_engine(migrated("gateway"), poolclass=pool.NullPool)
    statements: list[str] = []
    writer = AuditWriter(engine)
    # the writer's own connection (plain asyncpg): every statement it sends is logged
    connection = await writer._connection()
    connection.add_query_logger(lambda logged: statements.append(logged.query))

    def asynchronous() -> bool:
        found = any("synchronous_commit" in s for s in statements)
        statements.clear()
        return found

    try:
        intent = await writer.append(_new_intent("durable-1"))
        assert not asynchronous()
        outcome = _new_intent("durable-1", phase="outcome", intent_seq=intent, status=201)
        await writer.append(outcome)
        assert asynchronous()
        await asyncio.gather(writer.append(outcome), writer.append(_new_intent("durable-2")))
        assert not asynchronous()
        assert (await _verify(engine, head=writer.head))["ok"] is True
    finally:
        await writer.close()
        await engine.dispose()


async def test_concurrent_appends_share_a_batch_in_order_and_verify(migrated) -> None:  # type: ignore[no-untyped-def]
    """Entries appended together go in one transaction (one INSERT of arrays), numbered in
    the order they were appended, and the chain verifies."""
    engine = create_async_engine(migrated("gateway"), poolclass=pool.NullPool)
    writer = AuditWriter(engine)
    try:
        seqs = await asyncio.gather(*(writer.append(_new_intent(f"batch-{n}")) for n in range(40)))
        assert seqs == list(range(seqs[0], seqs[0] + 40))
        rows = {seq: rid for seq, _, rid in await _entries(engine)}
        assert [rows[seq] for seq in seqs] == [f"batch-{n}" for n in range(40)]
        assert (await _verify(engine, head=writer.head))["ok"] is True
    finally:
        await writer.close()
        await engine.dispose()


async def test_an_append_is_one_statement_while_the_chain_ends_where_it_left_it(migrated) -> None:  # type: ignore[no-untyped-def]
    """Once the writer knows the chain's last row, each batch is one statement, lock to
    commit (`audit_append`): one round trip, not four."""
    engine = create_async_engine(migrated("gateway"), poolclass=pool.NullPool)
    writer = AuditWriter(engine)
    statements: list[str] = []
    connection = await writer._connection()
    connection.add_query_logger(lambda logged: statements.append(logged.query))
    try:
        intent = await writer.append(_new_intent("one-statement-1"))  # learns the last row
        statements.clear()
        await writer.append(_new_intent("one-statement-1", phase="outcome", intent_seq=intent))
        await writer.append(_new_intent("one-statement-2"))
        assert len(statements) == 2 and all("audit_append" in s for s in statements)
        assert (await _verify(engine, head=writer.head))["ok"] is True
    finally:
        await writer.close()
        await engine.dispose()


async def test_two_writers_appending_in_turn_keep_one_chain(migrated) -> None:  # type: ignore[no-untyped-def]
    """Two processes' writers (two gateway workers): each finds the chain moved by the
    other, chains its batch again on the row it is told of, and the chain verifies with no
    gap, in turn and at once."""
    engine = create_async_engine(migrated("gateway"), poolclass=pool.NullPool)
    first, second = AuditWriter(engine), AuditWriter(engine)
    try:
        seqs = []
        for n in range(6):
            writer = first if n % 2 else second
            seqs.append(await writer.append(_new_intent(f"in-turn-{n}")))
        assert seqs == list(range(seqs[0], seqs[0] + 6))
        together = await asyncio.gather(
            *(w.append(_new_intent(f"at-once-{n}")) for n in range(20) for w in (first, second))
        )
        assert sorted(together) == list(range(seqs[-1] + 1, seqs[-1] + 41))
        for writer in (first, second):
            assert (await _verify(engine, head=writer.head))["ok"] is True
    finally:
        await first.close()
        await second.close()
        await engine.dispose()


async def test_a_writer_that_keeps_missing_appends_holding_the_lock(  # type: ignore[no-untyped-def]
    migrated, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its tries of the one-statement append, a writer holds the lock from reading the
    last row to its commit (four round trips), so it cannot miss again."""
    monkeypatch.setattr(service, "OPTIMISTIC_TRIES", 0)
    engine = create_async_engine(migrated("gateway"), poolclass=pool.NullPool)
    first, second = AuditWriter(engine), AuditWriter(engine)
    statements: list[str] = []
    connection = await second._connection()
    connection.add_query_logger(lambda logged: statements.append(logged.query))
    try:
        before = await first.append(_new_intent("locked-1"))
        assert await second.append(_new_intent("locked-2")) == before + 1
        # (and asyncpg's own look-up of the array types, the first time it sends them)
        assert statements[0] == service.BEGIN_SQL and statements[-1] == "COMMIT"
        assert not any("audit_append" in s for s in statements)
        outcome = _new_intent("locked-2", phase="outcome", intent_seq=before + 1, status=201)
        assert await first.append(outcome) == before + 2
        assert (await _verify(engine, head=first.head))["ok"] is True
    finally:
        await first.close()
        await second.close()
        await engine.dispose()


async def test_a_lost_connection_fails_its_appends_and_the_next_one_reconnects(migrated) -> None:  # type: ignore[no-untyped-def]
    """The writer's connection killed under it: nothing is half written, and appends go on
    on a new connection."""
    engine = create_async_engine(migrated("gateway"), poolclass=pool.NullPool)
    writer = AuditWriter(engine)
    try:
        first = await writer.append(_new_intent("reconnect-1"))
        connection = await writer._connection()
        async with engine.connect() as admin:
            await admin.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": connection.get_server_pid()}
            )
        # the append after the kill either fails (the write it stands for is refused) or, when
        # the client heard of the closed socket first, is written on a new connection: never
        # half written, and the one after it is numbered on from the last row committed
        try:
            written = [await writer.append(_new_intent("reconnect-2"))]
        except Exception:  # whatever asyncpg raises for it
            written = []
        assert written in ([], [first + 1])
        assert await writer.append(_new_intent("reconnect-3")) == first + 1 + len(written)
        assert (await _verify(engine, head=writer.head))["ok"] is True
    finally:
        await writer.close()
        await engine.dispose()


async def test_closing_the_writer_fails_the_appends_still_queued(migrated) -> None:  # type: ignore[no-untyped-def]
    """An append queued when the gateway stops is refused (its write gets a 503), never left
    waiting for a writer that is gone."""
    engine = create_async_engine(migrated("gateway"), poolclass=pool.NullPool)
    writer = AuditWriter(engine)
    try:
        pending = asyncio.ensure_future(writer.append(_new_intent("closing-1")))
        await asyncio.sleep(0)  # queued, the writer's task not yet run
        await writer.close()
        with pytest.raises(RuntimeError, match="stopped"):
            await asyncio.wait_for(pending, 10)
    finally:
        await engine.dispose()


@pytest.fixture
async def fresh_database(postgres: str) -> str:
    """A gateway database of its own at head (the tests below alter its chain)."""
    await create_databases(postgres, ["gateway_audit_sm3"])
    url = f"{postgres}/gateway_audit_sm3"
    await asyncio.to_thread(_migrate, url, "head")
    return url


async def test_a_chain_switched_to_sm3_verifies_and_catches_changes(fresh_database: str) -> None:
    engine = create_async_engine(fresh_database, poolclass=pool.NullPool)
    try:
        for alg, request_id in (("sha256", "before"), ("sm3", "after-1"), ("sm3", "after-2")):
            writer = AuditWriter(engine, hash_alg=alg)
            try:
                await writer.append(_new_intent(request_id))
            finally:
                await writer.close()
        async with engine.connect() as conn:
            algs = (await conn.execute(text("SELECT hash_alg FROM audit_log ORDER BY seq"))).all()
        assert [a for (a,) in algs] == ["sha256", "sm3", "sm3"]
        assert (await _verify(engine))["ok"] is True

        # as a superuser could, past the append-only trigger
        tamper = "SET LOCAL session_replication_role = replica"
        async with engine.begin() as conn:  # claim the SM3 row was hashed with SHA-256
            await conn.execute(text(tamper))
            await conn.execute(text("UPDATE audit_log SET hash_alg = 'sha256' WHERE seq = 2"))
        report = await _verify(engine)
        assert (report["ok"], report["first_broken"]["seq"]) == (False, 2)  # type: ignore[index]
        async with engine.begin() as conn:  # put it back, then change what row 3 says
            await conn.execute(text(tamper))
            await conn.execute(text("UPDATE audit_log SET hash_alg = 'sm3' WHERE seq = 2"))
            await conn.execute(text("UPDATE audit_log SET actor = 'someone' WHERE seq = 3"))
        report = await _verify(engine)
        assert (report["ok"], report["first_broken"]["seq"]) == (False, 3)  # type: ignore[index]
    finally:
        await engine.dispose()


def test_sm3_is_the_standard_s_hash() -> None:
    """GB/T 32905's example: SM3("abc")."""
    from gateway.audit.service import HASHES

    assert HASHES["sm3"](b"abc") == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )
