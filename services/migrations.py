"""easel's schema, as numbered migrations: ``MIGRATIONS[i]`` brings version ``i`` to ``i + 1``.

:mod:`services.db` applies them at open; :mod:`services.data_dir` reads the version to tell
an operator that a database is newer than this easel. Each table's SQL otherwise lives in its
one owning module (quota, jobs, store, pending requests).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MIGRATIONS", "Migration"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``up`` brings version ``i`` to ``i + 1``, ``down`` takes it back (``easel migrate --down``)."""

    up: str
    down: str


# Numbered migrations: MIGRATIONS[i] brings the schema from version i to i + 1.
# Append only; never edit a migration that has shipped.
MIGRATIONS: tuple[Migration, ...] = (
    # 1: quota ledger, jobs, stored originals.
    Migration(
        """
    CREATE TABLE quota_reservations (
        id             TEXT PRIMARY KEY,
        requester_key  TEXT NOT NULL,
        job_id         TEXT NOT NULL,
        units          INTEGER NOT NULL CHECK (units >= 0),
        charged        INTEGER NOT NULL CHECK (charged >= 0 AND charged <= units),
        state          TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'refunded')),
        created_at     REAL NOT NULL,
        settled_at     REAL
    );
    CREATE INDEX ix_quota_requester_time ON quota_reservations (requester_key, created_at);
    CREATE INDEX ix_quota_open ON quota_reservations (state) WHERE state = 'reserved';

    CREATE TABLE jobs (
        id              TEXT PRIMARY KEY,
        requester_key   TEXT NOT NULL,
        requester_json  TEXT NOT NULL,
        platform        TEXT NOT NULL,
        origin_json     TEXT NOT NULL,
        request_json    TEXT NOT NULL,
        status          TEXT NOT NULL,
        reservation_id  TEXT REFERENCES quota_reservations (id),
        created_at      REAL NOT NULL,
        started_at      REAL,
        finished_at     REAL,
        error_kind      TEXT,
        error           TEXT,
        n_requested     INTEGER NOT NULL,
        n_delivered     INTEGER NOT NULL DEFAULT 0,
        n_filtered      INTEGER NOT NULL DEFAULT 0,
        backend         TEXT,
        model           TEXT,
        seeds_json      TEXT,
        result_text     TEXT,
        deleted_at      REAL
    );
    CREATE INDEX ix_jobs_status ON jobs (status);
    CREATE INDEX ix_jobs_requester ON jobs (requester_key, created_at);

    CREATE TABLE images (
        job_id         TEXT NOT NULL,
        idx            INTEGER NOT NULL,
        seed           INTEGER NOT NULL,
        width          INTEGER NOT NULL,
        height         INTEGER NOT NULL,
        path           TEXT NOT NULL,
        finish_reason  TEXT NOT NULL,
        created_at     REAL NOT NULL,
        PRIMARY KEY (job_id, idx)
    );
    """,
        """
    DROP TABLE IF EXISTS images;
    DROP TABLE IF EXISTS jobs;
    DROP TABLE IF EXISTS quota_reservations;
    """,
    ),
    # 2: the backend's handle on an asynchronous generation (Stability's creative upscale id),
    # so a restart polls the same generation instead of paying for a new one.
    Migration(
        """
    ALTER TABLE jobs ADD COLUMN resume_token TEXT;
    """,
        """
    ALTER TABLE jobs DROP COLUMN resume_token;
    """,
    ),
    # 3: requests acknowledged on a platform but not yet a job (services.jobs.pending), so a
    # restart in between tells the person instead of leaving a placeholder for good.
    Migration(
        """
    CREATE TABLE pending_requests (
        id              TEXT PRIMARY KEY,
        platform        TEXT NOT NULL,
        command         TEXT NOT NULL,
        requester_json  TEXT NOT NULL,
        origin_json     TEXT NOT NULL,
        created_at      REAL NOT NULL
    );
    """,
        """
    DROP TABLE IF EXISTS pending_requests;
    """,
    ),
    # 4: running easel for a community (issue 10): the audit log of refusals and admin actions.
    Migration(
        """
    CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at          REAL NOT NULL,
        actor_key   TEXT NOT NULL,
        server_id   TEXT NOT NULL DEFAULT '',
        action      TEXT NOT NULL,
        target      TEXT NOT NULL DEFAULT '',
        detail      TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX ix_audit_server_time ON audit_log (server_id, at);

    -- issue 10, budgets (services.budgets): per-server limit overrides, extra units granted
    -- to a person, bans, and the pause switch.
    CREATE TABLE budget_overrides (
        server_id   TEXT NOT NULL,
        name        TEXT NOT NULL,
        value       TEXT NOT NULL,
        set_by      TEXT NOT NULL,
        set_at      REAL NOT NULL,
        PRIMARY KEY (server_id, name)
    );
    CREATE TABLE budget_grants (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        requester_key  TEXT NOT NULL,
        units          INTEGER NOT NULL CHECK (units > 0),
        granted_by     TEXT NOT NULL,
        granted_at     REAL NOT NULL
    );
    CREATE INDEX ix_budget_grants_requester ON budget_grants (requester_key, granted_at);
    CREATE TABLE bans (
        requester_key  TEXT PRIMARY KEY,
        banned_by      TEXT NOT NULL,
        reason         TEXT NOT NULL DEFAULT '',
        banned_at      REAL NOT NULL
    );
    ALTER TABLE quota_reservations ADD COLUMN server_id TEXT NOT NULL DEFAULT '';
    CREATE INDEX ix_quota_server_time ON quota_reservations (server_id, created_at);
    -- end of the budgets block
    -- community (issue 10 part 2): per-server prompt rules (services.policy.book) and personal
    -- defaults (services.user_settings).
    CREATE TABLE policy_rules (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        server_id   TEXT NOT NULL,
        list        TEXT NOT NULL CHECK (list IN ('block', 'adult')),
        kind        TEXT NOT NULL CHECK (kind IN ('word', 'regex')),
        pattern     TEXT NOT NULL,
        created_at  REAL NOT NULL,
        created_by  TEXT NOT NULL DEFAULT '',
        UNIQUE (server_id, list, kind, pattern)
    );
    CREATE TABLE user_settings (
        requester_key  TEXT PRIMARY KEY,
        settings_json  TEXT NOT NULL,
        updated_at     REAL NOT NULL
    );
    """,
        # Down for the whole of migration 4, the community helper's tables (user_settings,
        # policy_rules) included; IF EXISTS so it holds whichever blocks are merged.
        """
    DROP TABLE IF EXISTS policy_rules;
    DROP TABLE IF EXISTS user_settings;
    DROP INDEX IF EXISTS ix_quota_server_time;
    ALTER TABLE quota_reservations DROP COLUMN server_id;
    DROP TABLE IF EXISTS bans;
    DROP TABLE IF EXISTS budget_grants;
    DROP TABLE IF EXISTS budget_overrides;
    DROP TABLE IF EXISTS audit_log;
    """,
    ),
    # 5: indexes for the scans that grow with the queue (issue 15): recovery reads unfinished
    # jobs oldest first in batches, and open reservations, without a sort of the whole set; a
    # person's open reservations (the concurrent-jobs budget) without walking everyone's.
    # Queries must spell the partial-index conditions literally for SQLite to use them.
    Migration(
        """
    DROP INDEX IF EXISTS ix_jobs_status;
    CREATE INDEX ix_jobs_unfinished ON jobs (created_at) WHERE status IN ('queued', 'running', 'delivering');
    DROP INDEX IF EXISTS ix_quota_open;
    CREATE INDEX ix_quota_open_time ON quota_reservations (created_at) WHERE state = 'reserved';
    CREATE INDEX ix_quota_open_requester ON quota_reservations (requester_key) WHERE state = 'reserved';
    """,
        """
    DROP INDEX IF EXISTS ix_quota_open_requester;
    DROP INDEX IF EXISTS ix_quota_open_time;
    CREATE INDEX ix_quota_open ON quota_reservations (state) WHERE state = 'reserved';
    DROP INDEX IF EXISTS ix_jobs_unfinished;
    CREATE INDEX ix_jobs_status ON jobs (status);
    """,
    ),
    # 6: requests to a running ``easel run`` from the operator's shell (``easel admin pause|resume|
    # queue|cancel``, services.jobs.control): the CLI writes a row, the running process answers it.
    Migration(
        """
    CREATE TABLE control_requests (
        id            TEXT PRIMARY KEY,
        words_json    TEXT NOT NULL,
        actor_key     TEXT NOT NULL,
        server_id     TEXT NOT NULL DEFAULT '',
        requested_at  REAL NOT NULL,
        answered_at   REAL,
        answer        TEXT,
        ok            INTEGER
    );
    CREATE INDEX ix_control_open ON control_requests (requested_at) WHERE answered_at IS NULL;
    """,
        """
    DROP INDEX IF EXISTS ix_control_open;
    DROP TABLE IF EXISTS control_requests;
    """,
    ),
    # 7: the shared queue (issue 15, services.jobs.shared_queue): with PostgreSQL every easel
    # process takes jobs from the table itself. Each job carries its fair round (round-robin across
    # people, as services.jobs.fair_queue does in memory) and a lease: who runs it, until when.
    # A pending request names the process that acknowledged it, so only that process's next start
    # tells its people it was not started.
    Migration(
        """
    ALTER TABLE jobs ADD COLUMN fair_round INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN claimed_by TEXT;
    ALTER TABLE jobs ADD COLUMN lease_until REAL NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX ix_jobs_fair_order ON jobs (fair_round) WHERE status IN ('queued', 'running', 'delivering');
    CREATE INDEX ix_jobs_claimed_by ON jobs (claimed_by) WHERE status IN ('queued', 'running', 'delivering');
    CREATE TABLE queue_turns (
        requester_key  TEXT PRIMARY KEY,
        last_round     INTEGER NOT NULL
    );
    CREATE TABLE queue_state (
        id      INTEGER PRIMARY KEY,
        round   INTEGER NOT NULL,
        paused  INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO queue_state (id, round, paused) VALUES (1, 0, 0);
    ALTER TABLE pending_requests ADD COLUMN owner TEXT;
    """,
        """
    ALTER TABLE pending_requests DROP COLUMN owner;
    DROP TABLE IF EXISTS queue_state;
    DROP TABLE IF EXISTS queue_turns;
    DROP INDEX IF EXISTS ix_jobs_claimed_by;
    DROP INDEX IF EXISTS ix_jobs_fair_order;
    ALTER TABLE jobs DROP COLUMN cancel_requested;
    ALTER TABLE jobs DROP COLUMN lease_until;
    ALTER TABLE jobs DROP COLUMN claimed_by;
    ALTER TABLE jobs DROP COLUMN fair_round;
    """,
    ),
    # 8: IDENTIFY turns shared by the gateway processes of a shard cluster (issue 15,
    # services.identify_slots): when each bucket ``shard_id % max_concurrency`` of a bot last
    # identified (or is next allowed to), by the database server's clock.
    Migration(
        """
    CREATE TABLE gateway_identify (
        bot_id         INTEGER NOT NULL,
        bucket         INTEGER NOT NULL,
        identified_at  REAL NOT NULL,
        PRIMARY KEY (bot_id, bucket)
    );
    """,
        """
    DROP TABLE IF EXISTS gateway_identify;
    """,
    ),
    # 9: where each moderation-log feed has got to in the audit log (services.modlog): shared by
    # the gateways of one database, so a line is posted once however many run the same feed.
    Migration(
        """
    CREATE TABLE modlog_cursors (
        feed     TEXT PRIMARY KEY,
        last_id  INTEGER NOT NULL
    );
    """,
        """
    DROP TABLE IF EXISTS modlog_cursors;
    """,
    ),
)
