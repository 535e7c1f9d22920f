/**
 * The PostgreSQL schema, as numbered migrations applied in order. Each migration is a name and
 * the DDL for a given (quoted) schema; {@link PostgresDatabase.migrate} records applied versions
 * in `<schema>.schema_migrations`. Never edit a released migration: append a new one.
 * Times are bigint milliseconds since the epoch, taken from the injected clock.
 */

/** One schema change. */
export interface Migration {
  /** A short description, recorded with the version and reported by `provision()`. */
  readonly name: string;
  /** The statements, for the quoted schema name `s` (e.g. `"switchyard"`). */
  sql(s: string): string;
}

/** Every migration, version 1 first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    name: "initial tables",
    sql: (s) => `
      CREATE TABLE ${s}.stream_messages (
        id             bigserial PRIMARY KEY,
        correlation_id text    NOT NULL,
        steps          integer NOT NULL,
        retries        integer NOT NULL,
        body           text    NOT NULL,
        visible_at     bigint  NOT NULL,
        receive_count  integer NOT NULL DEFAULT 0,
        claim_token    uuid,
        enqueued_at    bigint  NOT NULL
      );
      CREATE INDEX stream_messages_due ON ${s}.stream_messages (visible_at, id);
      CREATE INDEX stream_messages_instance ON ${s}.stream_messages (correlation_id);

      CREATE TABLE ${s}.retry_entries (
        correlation_id text    NOT NULL,
        steps          integer NOT NULL,
        retries        integer NOT NULL,
        body           text    NOT NULL,
        run_at         bigint  NOT NULL,
        receive_count  integer NOT NULL DEFAULT 0,
        claim_token    uuid,
        scheduled_at   bigint  NOT NULL,
        PRIMARY KEY (correlation_id, steps)
      );
      CREATE INDEX retry_entries_due ON ${s}.retry_entries (run_at);

      CREATE TABLE ${s}.dead_letters (
        id            bigserial PRIMARY KEY,
        source_uri    text    NOT NULL,
        message_id    text    NOT NULL,
        body          text    NOT NULL,
        reason        text    NOT NULL,
        receive_count integer NOT NULL,
        dead_at       bigint  NOT NULL
      );

      CREATE TABLE ${s}.instance_state (
        correlation_id   text    PRIMARY KEY,
        steps            integer NOT NULL,
        retries          integer NOT NULL,
        fence            bigint  NOT NULL,
        state            text    NOT NULL CHECK (state IN ('leased', 'open')),
        expires_at       bigint  NOT NULL,
        dispatched_steps integer NOT NULL DEFAULT -1,
        dispatched_until bigint  NOT NULL DEFAULT 0
      );

      CREATE TABLE ${s}.checkpoints (
        correlation_id text    PRIMARY KEY,
        steps          integer NOT NULL,
        receipt        text    NOT NULL,
        stored_at      bigint  NOT NULL
      );

      CREATE TABLE ${s}.metrics (
        id            bigserial PRIMARY KEY,
        at            bigint NOT NULL,
        machine_name  text   NOT NULL,
        current_state text   NOT NULL,
        current_event text   NOT NULL,
        counters      jsonb  NOT NULL
      );
      CREATE INDEX metrics_at ON ${s}.metrics (at);

      CREATE TABLE ${s}.environments (
        key         text   PRIMARY KEY,
        environment text   NOT NULL,
        created_at  bigint NOT NULL
      );

      CREATE TABLE ${s}.instances (
        correlation_id text   PRIMARY KEY,
        machine_name   text   NOT NULL,
        status         text   NOT NULL,
        state          text   NOT NULL,
        user_context   text   NOT NULL,
        started_at     bigint NOT NULL,
        updated_at     bigint NOT NULL,
        reason         text
      );
      CREATE INDEX instances_started ON ${s}.instances (started_at);

      CREATE TABLE ${s}.journal_messages (
        id             bigserial PRIMARY KEY,
        correlation_id text NOT NULL,
        message        text NOT NULL
      );
      CREATE INDEX journal_messages_instance ON ${s}.journal_messages (correlation_id, id);

      CREATE TABLE ${s}.journal_errors (
        id             bigserial PRIMARY KEY,
        correlation_id text NOT NULL,
        errors         text NOT NULL
      );
      CREATE INDEX journal_errors_instance ON ${s}.journal_errors (correlation_id, id);
    `,
  },
  {
    name: "consumer leases",
    // What the consumers of a Kinesis stream share when this schema is the checkpoint role's
    // store: one lease per shard and one heartbeat per consumer, written only at the version the
    // writer last saw.
    sql: (s) => `
      CREATE TABLE ${s}.consumer_leases (
        grp        text    NOT NULL,
        key        text    NOT NULL,
        owner      text    NOT NULL,
        expires_at bigint  NOT NULL,
        position   text    NOT NULL,
        version    bigint  NOT NULL,
        PRIMARY KEY (grp, key)
      );
    `,
  },
  {
    name: "journal updates are monotonic by step",
    sql: (s) => `ALTER TABLE ${s}.instances ADD COLUMN steps bigint NOT NULL DEFAULT 0;`,
  },
  {
    name: "failed attempts in the journal",
    sql: (s) => `
      CREATE TABLE ${s}.journal_attempts (
        id             bigserial PRIMARY KEY,
        correlation_id text    NOT NULL,
        steps          integer NOT NULL,
        retries        integer NOT NULL,
        attempt        text    NOT NULL
      );
      CREATE INDEX journal_attempts_instance ON ${s}.journal_attempts (correlation_id, id);
    `,
  },
  {
    name: "the lease side and fence token of each instance, for external events",
    sql: (s) => `ALTER TABLE ${s}.instances ADD COLUMN lease_primary boolean, ADD COLUMN fence_token bigint;`,
  },
  {
    name: "the operator's controls: pause, parked messages, abort",
    sql: (s) => `
      ALTER TABLE ${s}.instances
        ADD COLUMN paused boolean NOT NULL DEFAULT false,
        ADD COLUMN parked integer NOT NULL DEFAULT 0,
        ADD COLUMN abort_reason text,
        ADD COLUMN abort_at bigint,
        ADD COLUMN abort_step bigint;
      CREATE INDEX instances_updated ON ${s}.instances (status, updated_at);
      CREATE TABLE ${s}.pause_rules (
        machine_name text NOT NULL,
        state        text NOT NULL,
        PRIMARY KEY (machine_name, state)
      );
      CREATE TABLE ${s}.parked_messages (
        correlation_id text    NOT NULL,
        steps          bigint  NOT NULL,
        retries        integer NOT NULL,
        machine_name   text    NOT NULL,
        state          text    NOT NULL,
        body           text    NOT NULL,
        parked_at      bigint  NOT NULL,
        PRIMARY KEY (correlation_id, steps, retries)
      );
      CREATE INDEX parked_by_machine ON ${s}.parked_messages (machine_name, state, parked_at);
    `,
  },
  {
    name: "messages by send time, for the step latencies of metrics --since",
    // Messages are appended in send order, so the index grows at its end.
    sql: (s) => `CREATE INDEX journal_messages_at ON ${s}.journal_messages (((message::jsonb ->> 'at')::double precision));`,
  },
  {
    name: "the listing's order as one index, for pages that continue after a position",
    sql: (s) => `
      DROP INDEX ${s}.instances_started;
      CREATE INDEX instances_newest ON ${s}.instances (started_at DESC, correlation_id);
    `,
  },
  {
    name: "definition versions: the instance's version, the registry, migration orders",
    // The instance's version: NULL when started unversioned, and not indexed: every transition's
    // update of the row changes updated_at (indexed), so it is never HOT and writes every index of
    // the table; one more would cost each transition a write for the sake of operator queries.
    // The registry's keys compare in byte order (COLLATE "C"), as on the other backends, so its
    // primary keys serve its listings. from_version '' stands for the unversioned instances.
    sql: (s) => `
      ALTER TABLE ${s}.instances ADD COLUMN version text;
      CREATE TABLE ${s}.definitions (
        machine_name text COLLATE "C" NOT NULL,
        version      text COLLATE "C" NOT NULL,
        label        text,
        document     text   NOT NULL,
        deployed_at  bigint NOT NULL,
        PRIMARY KEY (machine_name, version)
      );
      CREATE TABLE ${s}.migration_orders (
        machine_name text COLLATE "C" NOT NULL,
        from_version text COLLATE "C" NOT NULL,
        to_version   text   NOT NULL,
        at           bigint NOT NULL,
        PRIMARY KEY (machine_name, from_version)
      );
    `,
  },
  {
    name: "the listing's filters: indexes by machine, machine and state, status, paused, id prefix",
    // Each filter combination of the listing walks an index in the listing's order
    // (backends/sql/instance-list.ts), so a page reads about as many entries as it shows. The
    // instance row's update is never HOT (instances_updated indexes updated_at, which every update sets), so
    // every update inserts an entry into every full index, whatever columns changed: these four
    // cost each transition four index inserts (the partial paused one only while paused).
    // instances_id_bytes compares ids in byte order (COLLATE "C"), so a prefix is one range whatever
    // the database's collation; the primary key's order stays the listing's tie-break.
    sql: (s) => `
      CREATE INDEX instances_machine ON ${s}.instances (machine_name, started_at DESC, correlation_id);
      CREATE INDEX instances_machine_state ON ${s}.instances (machine_name, state, started_at DESC, correlation_id);
      CREATE INDEX instances_status ON ${s}.instances (status, started_at DESC, correlation_id);
      CREATE INDEX instances_paused ON ${s}.instances (started_at DESC, correlation_id)
        WHERE status IN ('running', 'waiting') AND (paused = true OR parked > 0);
      CREATE INDEX instances_id_bytes ON ${s}.instances ((correlation_id COLLATE "C"));
    `,
  },
];
