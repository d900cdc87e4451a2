"""audit append in one statement

`audit_append` appends a batch the audit writer numbered and hashed against the chain's
last row as it last saw it, in one statement and so one round trip (the statement is its
own transaction): it waits for the append lock (its key passed in, from kit.locks), reads
the last row and inserts the batch only if that row is still the one the batch was
chained to; otherwise it inserts nothing and returns the last row, for the writer to chain
the batch again. The hashes stay the writer's (SHA-256 or SM3: PostgreSQL has no SM3), so
the canonical form is defined once, in gateway/audit/service.py. A PL/pgSQL function, not
one statement of CTEs: a statement reads from the snapshot taken when it started, before it
waited for the lock, so it could miss the row another writer committed meanwhile; each
statement inside the function reads afresh.

Revision ID: 0d3c6e1f7a52
Revises: 55523f66e69b
Create Date: 2026-12-07 21:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0d3c6e1f7a52"
down_revision: str | None = "55523f66e69b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND = """
CREATE FUNCTION audit_append(
    lock_space integer, lock_item integer, after_seq bigint, after_hash text,
    seqs bigint[], ats timestamptz[], phases text[], intent_seqs bigint[], request_ids text[],
    actors text[], agencies text[], usccs text[], inspector_ids text[], methods text[],
    paths text[], object_keys text[], statuses smallint[], outcomes text[],
    prev_hashes text[], hashes text[], hash_algs text[]
) RETURNS TABLE (appended boolean, last_seq bigint, last_hash text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_space, lock_item);
    SELECT a.seq, a.hash INTO last_seq, last_hash FROM audit_log AS a ORDER BY a.seq DESC LIMIT 1;
    IF coalesce(last_seq, 0) <> after_seq OR coalesce(last_hash, repeat('0', 64)) <> after_hash
    THEN
        appended := false;
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO audit_log (seq, at, phase, intent_seq, request_id, actor, agency, uscc,
        inspector_id, method, path, object_key, status, outcome, prev_hash, hash, hash_alg)
    SELECT * FROM unnest(seqs, ats, phases, intent_seqs, request_ids, actors, agencies, usccs,
        inspector_ids, methods, paths, object_keys, statuses, outcomes, prev_hashes, hashes,
        hash_algs);
    appended := true;
    last_seq := seqs[array_upper(seqs, 1)];
    last_hash := hashes[array_upper(hashes, 1)];
    RETURN NEXT;
END
$$
"""


def upgrade() -> None:
    op.execute(APPEND)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION audit_append(integer, integer, bigint, text, bigint[], timestamptz[],"
        " text[], bigint[], text[], text[], text[], text[], text[], text[], text[], text[],"
        " smallint[], text[], text[], text[], text[])"
    )
