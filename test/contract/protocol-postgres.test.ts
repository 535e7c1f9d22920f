/**
 * The protocol suite on PostgreSQL alone: every role and the journal, with the primary and the
 * secondary side in two distinct schemas of the test database (unique to this run, dropped after).
 *
 * Creating two schemas per scenario cost more than the scenarios themselves, so a finished
 * scenario's schemas are emptied (after the suite closed its backends) and handed to the next one:
 * every scenario still starts on empty tables of its own.
 */
import pg from "pg";
import { afterAll, afterEach, describe } from "vitest";
import { dropSchemas, needs, POSTGRES_URL, uniqueName } from "../support/servers.js";
import { twoStoreSettings } from "../support/protocol-settings.js";
import { describeFusedProtocol } from "./protocol-fused.js";

const run = uniqueName("proto_pg");
let created = 0;
/** Emptied schemas, ready for the next scenario. */
const free: string[] = [];
/** The schemas of each scratch directory (a scenario's `settings(dir)` may be asked again). */
const byDir = new Map<string, readonly [string, string]>();

let admin: pg.Client | undefined;
async function adminQuery(sql: string, params: unknown[] = []) {
  if (admin === undefined) {
    admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
  }
  return admin.query(sql, params);
}

const take = () => free.pop() ?? `${run}_${String(++created).padStart(4, "0")}`;

// Registered at the top level, so it runs after the suite's own afterEach has closed the backends.
afterEach(async () => {
  for (const schemas of byDir.values()) {
    for (const schema of schemas) {
      const { rows } = await adminQuery(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> 'schema_migrations'",
        [schema],
      );
      if (rows.length > 0) await adminQuery(rows.map((row: { table_name: string }) => `DELETE FROM "${schema}".${row.table_name};`).join("\n"));
      free.push(schema);
    }
  }
  byDir.clear();
});
afterAll(async () => {
  await admin?.end();
  await dropSchemas(run);
});

describe("on PostgreSQL", needs("postgres"), () => {
  describeFusedProtocol({
    name: "postgres (a distinct schema per side)",
    settings: (dir) => {
      let schemas = byDir.get(dir);
      if (schemas === undefined) {
        schemas = [take(), take()];
        byDir.set(dir, schemas);
      }
      const [a, b] = schemas.map((schema) => `${POSTGRES_URL}?schema=${schema}`) as [string, string];
      return twoStoreSettings(a, b, { environment: true });
    },
  }, { checkpoint: true, journal: true });
});
