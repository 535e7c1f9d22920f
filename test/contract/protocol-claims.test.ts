/**
 * The protocol suite as a worker runs it on the fused transition path: each commit claims the
 * instance's next message for the processor and takes its lease (`claimNextSeconds`), and the
 * processor runs it next. SQLite and PostgreSQL, every role on the primary store.
 */
import { afterAll, describe } from "vitest";
import { dropSchemas, needs, POSTGRES_URL, uniqueName } from "../support/servers.js";
import { describeProtocol } from "./protocol.contract.js";

describeProtocol({
  name: "sqlite, next messages claimed by the commit",
  claimNext: true,
  settings: (dir) => ({
    stream: { primary: `sqlite:${dir}/a.db`, secondary: `sqlite:${dir}/b.db` },
    retry: { primary: `sqlite:${dir}/a.db`, secondary: `sqlite:${dir}/b.db` },
    cache: { primary: `sqlite:${dir}/a.db`, secondary: `sqlite:${dir}/b.db` },
    checkpoint: `sqlite:${dir}/a.db`,
    metrics: `sqlite:${dir}/a.db`,
    journal: `sqlite:${dir}/a.db`,
  }),
});

const run = uniqueName("proto_pg_claim");
let created = 0;
/** The schemas of each scratch directory (a scenario that reopens asks for its settings again). */
const byDir = new Map<string, readonly [string, string]>();
afterAll(() => dropSchemas(run));

describe("on PostgreSQL", needs("postgres"), () => {
  describeProtocol({
    name: "postgres, next messages claimed by the commit",
    claimNext: true,
    settings: (dir) => {
      let schemas = byDir.get(dir);
      if (schemas === undefined) {
        schemas = [++created, ++created].map((n) => `${POSTGRES_URL}?schema=${run}_${String(n).padStart(4, "0")}`) as [string, string];
        byDir.set(dir, schemas);
      }
      const [a, b] = schemas;
      return { stream: { primary: a, secondary: b }, retry: { primary: a, secondary: b }, cache: { primary: a, secondary: b }, checkpoint: a, metrics: a, environment: a, journal: a };
    },
  });
});
