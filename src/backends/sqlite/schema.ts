/**
 * The SQLite schema as versioned migrations: `MIGRATIONS[n]` takes a database from
 * `PRAGMA user_version = n` to `n + 1`. Append new migrations; never edit a released one.
 * Times are integer milliseconds since the epoch, JSON values are TEXT.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE stream_messages (
    id             INTEGER PRIMARY KEY,
    correlation_id TEXT    NOT NULL,
    steps          INTEGER NOT NULL,
    retries        INTEGER NOT NULL,
    body           TEXT    NOT NULL,
    visible_at     INTEGER NOT NULL,
    receive_count  INTEGER NOT NULL DEFAULT 0,
    claim_token    TEXT,
    enqueued_at    INTEGER NOT NULL
  );
  CREATE INDEX stream_messages_due ON stream_messages (visible_at, id);
  CREATE INDEX stream_messages_instance ON stream_messages (correlation_id, visible_at);

  CREATE TABLE retry_entries (
    correlation_id TEXT    NOT NULL,
    steps          INTEGER NOT NULL,
    retries        INTEGER NOT NULL,
    body           TEXT    NOT NULL,
    run_at         INTEGER NOT NULL,
    receive_count  INTEGER NOT NULL DEFAULT 0,
    claim_token    TEXT,
    scheduled_at   INTEGER NOT NULL,
    PRIMARY KEY (correlation_id, steps)
  ) WITHOUT ROWID;
  CREATE INDEX retry_entries_due ON retry_entries (run_at);

  CREATE TABLE dead_letters (
    id            INTEGER PRIMARY KEY,
    source_uri    TEXT    NOT NULL,
    message_id    TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    receive_count INTEGER NOT NULL,
    dead_at       INTEGER NOT NULL
  );

  CREATE TABLE leases (
    correlation_id TEXT    PRIMARY KEY,
    steps          INTEGER NOT NULL,
    retries        INTEGER NOT NULL,
    fence          INTEGER NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('leased', 'open')),
    expires_at     INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE dispatched (
    correlation_id TEXT    NOT NULL,
    steps          INTEGER NOT NULL,
    retries        INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (correlation_id, steps)
  ) WITHOUT ROWID;
  CREATE INDEX dispatched_expiry ON dispatched (expires_at);

  CREATE TABLE checkpoints (
    correlation_id TEXT    PRIMARY KEY,
    steps          INTEGER NOT NULL,
    receipt        TEXT    NOT NULL,
    stored_at      INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE metrics (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    machine_name  TEXT    NOT NULL,
    current_state TEXT    NOT NULL,
    current_event TEXT    NOT NULL,
    counters      TEXT    NOT NULL
  );
  CREATE INDEX metrics_at ON metrics (at);

  CREATE TABLE environments (
    key         TEXT    PRIMARY KEY,
    environment TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE instances (
    correlation_id TEXT    PRIMARY KEY,
    machine_name   TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    user_context   TEXT    NOT NULL,
    started_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    reason         TEXT
  ) WITHOUT ROWID;
  CREATE INDEX instances_updated ON instances (updated_at);

  CREATE TABLE journal_messages (
    correlation_id TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    message        TEXT    NOT NULL,
    PRIMARY KEY (correlation_id, seq)
  ) WITHOUT ROWID;

  CREATE TABLE journal_errors (
    correlation_id TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    errors         TEXT    NOT NULL,
    PRIMARY KEY (correlation_id, seq)
  ) WITHOUT ROWID;
  `,
  // 2: fewer index writes per transition. Every transition touched a random page of
  // stream_messages_instance (on send and on ack) and of instances_updated (updated_at changes on
  // every step); both served rare queries (run's per-instance poll, list), which now scan the
  // in-flight queue or use the immutable start time instead.
  `
  DROP INDEX stream_messages_instance;
  DROP INDEX instances_updated;
  CREATE INDEX instances_started ON instances (started_at);
  `,
  // 3: history rows appended in one place instead of at a random page per instance.
  `
  CREATE TABLE journal_messages_v3 (
    id             INTEGER PRIMARY KEY,
    correlation_id TEXT    NOT NULL,
    message        TEXT    NOT NULL
  );
  INSERT INTO journal_messages_v3 (correlation_id, message)
    SELECT correlation_id, message FROM journal_messages ORDER BY correlation_id, seq;
  DROP TABLE journal_messages;
  ALTER TABLE journal_messages_v3 RENAME TO journal_messages;
  CREATE INDEX journal_messages_instance ON journal_messages (correlation_id, id);
  `,
  // 4: the dispatched mark moves into the instance's leases row, which every transition has just
  // written anyway: one page per transition instead of a second random one in a growing table. The
  // mark is the highest dispatched step (steps of one instance are dispatched in order, so a step
  // at or below it is done) with the expiry of its last renewal.
  `
  ALTER TABLE leases ADD COLUMN dispatched_steps INTEGER NOT NULL DEFAULT -1;
  ALTER TABLE leases ADD COLUMN dispatched_until INTEGER NOT NULL DEFAULT 0;
  INSERT INTO leases (correlation_id, steps, retries, fence, state, expires_at)
    SELECT DISTINCT correlation_id, -1, 0, 0, 'open', 0 FROM dispatched WHERE true
    ON CONFLICT (correlation_id) DO NOTHING;
  UPDATE leases SET
    dispatched_steps = (SELECT MAX(steps) FROM dispatched d WHERE d.correlation_id = leases.correlation_id),
    dispatched_until = (SELECT MAX(expires_at) FROM dispatched d WHERE d.correlation_id = leases.correlation_id)
  WHERE correlation_id IN (SELECT correlation_id FROM dispatched);
  DROP TABLE dispatched;
  `,
  // 5: the checkpoint joins the lease and the dispatched mark: one row per instance, written once
  // per transition however many of the cache and checkpoint roles this file serves.
  `
  ALTER TABLE leases RENAME TO instance_state;
  ALTER TABLE instance_state ADD COLUMN checkpoint_steps INTEGER;
  ALTER TABLE instance_state ADD COLUMN checkpoint_receipt TEXT;
  ALTER TABLE instance_state ADD COLUMN checkpoint_at INTEGER;
  INSERT INTO instance_state (correlation_id, steps, retries, fence, state, expires_at)
    SELECT correlation_id, -1, 0, 0, 'open', 0 FROM checkpoints WHERE true
    ON CONFLICT (correlation_id) DO NOTHING;
  UPDATE instance_state SET
    checkpoint_steps = c.steps, checkpoint_receipt = c.receipt, checkpoint_at = c.stored_at
  FROM checkpoints c WHERE c.correlation_id = instance_state.correlation_id;
  DROP TABLE checkpoints;
  `,
  // 6: what the consumers of a Kinesis stream share when this file is the checkpoint role's store:
  // one lease per shard (owner, expiry, position) and one heartbeat per consumer, each written
  // only while its version is the one the writer last saw.
  `
  CREATE TABLE consumer_leases (
    grp        TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    position   TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (grp, key)
  ) WITHOUT ROWID;
  `,
  // 7: the step of an instance's last journal update, so updates are monotonic: a late write of an
  // earlier step (a processing that lost its lease) cannot undo a later one.
  `
  ALTER TABLE instances ADD COLUMN steps INTEGER NOT NULL DEFAULT 0;
  `,
  // 8: failed attempts, so a failure says what failed: which action threw, when, and with what.
  // Appended in one place like the history; read per instance in step order.
  `
  CREATE TABLE journal_attempts (
    id             INTEGER PRIMARY KEY,
    correlation_id TEXT    NOT NULL,
    steps          INTEGER NOT NULL,
    retries        INTEGER NOT NULL,
    attempt        TEXT    NOT NULL
  );
  CREATE INDEX journal_attempts_instance ON journal_attempts (correlation_id, id);
  `,
  // 9: where the instance's lease lives and its last fence token, so an external event's message
  // carries them on.
  `
  ALTER TABLE instances ADD COLUMN lease_primary INTEGER;
  ALTER TABLE instances ADD COLUMN fence_token INTEGER;
  `,
  // 10: the operator's controls (SPEC §9): an instance's pause flag, the count of its parked
  // messages and its abort; machine pauses (state '' = every state); parked messages, kept until
  // resume sends them again; and an index for stalled-instance listing by last update.
  `
  ALTER TABLE instances ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE instances ADD COLUMN parked INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE instances ADD COLUMN abort_reason TEXT;
  ALTER TABLE instances ADD COLUMN abort_at INTEGER;
  ALTER TABLE instances ADD COLUMN abort_step INTEGER;
  CREATE INDEX instances_updated ON instances (status, updated_at);
  CREATE TABLE pause_rules (
    machine_name TEXT NOT NULL,
    state        TEXT NOT NULL,
    PRIMARY KEY (machine_name, state)
  ) WITHOUT ROWID;
  CREATE TABLE parked_messages (
    correlation_id TEXT    NOT NULL,
    steps          INTEGER NOT NULL,
    retries        INTEGER NOT NULL,
    machine_name   TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    parked_at      INTEGER NOT NULL,
    PRIMARY KEY (correlation_id, steps, retries)
  ) WITHOUT ROWID;
  CREATE INDEX parked_by_machine ON parked_messages (machine_name, state, parked_at);
  `,
  // 11: \`metrics --since\` reads the messages sent in its window (their step latencies) without a
  // scan of the whole history. Messages are appended in send order, so the index grows at its end.
  `
  CREATE INDEX journal_messages_at ON journal_messages (json_extract(message, '$.at'));
  `,
  // 12: the listing's order (newest started first, ties by id) as one index, so a page that
  // continues after a position (list --after) starts with a seek instead of a scan.
  `
  DROP INDEX instances_started;
  CREATE INDEX instances_newest ON instances (started_at DESC, correlation_id);
  `,
  // 13: definition versions (SPEC §10). Each instance's version (NULL: started unversioned); the
  // registry of deployed versions, their normalized definition as JSON; and the operator's
  // migration orders, one per machine and version left (from_version '' for the unversioned
  // instances). No index on the instance's version: every transition rewrites the instance row,
  // and would rewrite the index entry with it, for the sake of operator queries (version counts,
  // list --version) that scan or walk instances_newest as list --machine does.
  `
  ALTER TABLE instances ADD COLUMN version TEXT;
  CREATE TABLE definitions (
    machine_name TEXT    NOT NULL,
    version      TEXT    NOT NULL,
    label        TEXT,
    document     TEXT    NOT NULL,
    deployed_at  INTEGER NOT NULL,
    PRIMARY KEY (machine_name, version)
  ) WITHOUT ROWID;
  CREATE TABLE migration_orders (
    machine_name TEXT    NOT NULL,
    from_version TEXT    NOT NULL,
    to_version   TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (machine_name, from_version)
  ) WITHOUT ROWID;
  `,
  // 14: the listing's filters (the dashboard's instance list), each combination walking an index
  // in the listing's order so a page reads about as many entries as it shows, with 1,000,000
  // instances as with 100 (backends/sql/instance-list.ts names the index per filter). The
  // listing's order after the leading columns, so a range is already sorted:
  // - by machine (list --machine, with --version checked on the way);
  // - by machine and state (the heat map's cell): state changes with every transition, so this
  //   entry moves per transition, but in SQLite every index on a column the instance upsert sets is
  //   rewritten anyway (machine_name and status are set on every update);
  // - by status, for a rare one (failed, aborted) among a million completed, where walking
  //   instances_newest would read them all;
  // - paused instances only (partial: status and the pause flag or parked messages), as a
  //   transition of an unpaused instance leaves it alone.
  // - the heat map's counts (stateCounts): every column they group by, in that order, so the count
  //   streams along this index alone, without a sort or a read of the rows (a GROUP BY over the
  //   table reads and sorts every row: 1.7 s with 1,000,000 instances, during which the file's
  //   one connection serves nothing else; 0.14 s along this index).
  // A prefix of ids is a range of the primary key. No index by version: versions are few per
  // machine, and instances_newest or instances_machine with the version checked serves them.
  `
  CREATE INDEX instances_machine ON instances (machine_name, started_at DESC, correlation_id);
  CREATE INDEX instances_machine_state ON instances (machine_name, state, started_at DESC, correlation_id);
  CREATE INDEX instances_status ON instances (status, started_at DESC, correlation_id);
  CREATE INDEX instances_paused ON instances (started_at DESC, correlation_id)
    WHERE status IN ('running', 'waiting') AND (paused = 1 OR parked > 0);
  CREATE INDEX instances_heat ON instances (machine_name, version, state, status, paused, parked);
  `,
  // 15: what a transition writes. SQLite rewrites an instance's entry in every index on a column
  // the instance upsert sets, and status and state are set on every transition: with the status
  // and machine+state indexes of 14 a transition cost about 20% more on the embedded default. So
  // their listings walk ranges of the indexes the heat map and list --stalled need anyway
  // (instances_heat, now machine and state first; instances_updated, by status) when a count of the
  // range finds them sparse, and a listing-ordered index when dense (backends/sql/instance-list.ts),
  // and the upsert no longer sets the machine's name, so instances_machine stays put.
  `
  DROP INDEX instances_status;
  DROP INDEX instances_machine_state;
  DROP INDEX instances_heat;
  CREATE INDEX instances_heat ON instances (machine_name, state, version, status, paused, parked);
  `,
];
