/**
 * The protocol suite as a worker runs it on the fused transition path: each commit claims the
 * instance's next message for the processor and takes its lease (`claimNextSeconds`), and the
 * processor runs it next. SQLite and PostgreSQL, every role on the primary store.
 */
import { afterAll, describe } from "vitest";
import { postgresTwoSchemas, sqliteTwoFiles } from "../support/protocol-settings.js";
import { dropSchemas, needs, uniqueName } from "../support/servers.js";
import { describeFusedProtocol } from "./protocol-fused.js";

describeFusedProtocol({ name: "sqlite, next messages claimed by the commit", claimNext: true, settings: sqliteTwoFiles }, { checkpoint: true, journal: true });

const run = uniqueName("proto_pg_claim");
afterAll(() => dropSchemas(run));

describe("on PostgreSQL", needs("postgres"), () => {
  describeFusedProtocol({ name: "postgres, next messages claimed by the commit", claimNext: true, settings: postgresTwoSchemas(run) }, { checkpoint: true, journal: true });
});
