/**
 * The protocol suite over the separate role ports (`fused_transitions: false`) on SQLite and
 * PostgreSQL: where the roles share a backend the other protocol runs take the fused transition
 * path, so these keep the per-role path of mixed deployments and of fallbacks pinned by the same
 * traces.
 */
import { afterAll, describe } from "vitest";
import { postgresTwoSchemas, sqliteTwoFiles } from "../support/protocol-settings.js";
import { dropSchemas, needs, uniqueName } from "../support/servers.js";
import { describeProtocol } from "./protocol.contract.js";

describeProtocol({
  name: "sqlite, separate role calls",
  settings: (dir) => ({ ...sqliteTwoFiles(dir), fused_transitions: false }),
});

const run = uniqueName("proto_pg_sep");
const postgres = postgresTwoSchemas(run);
afterAll(() => dropSchemas(run));

describe("on PostgreSQL", needs("postgres"), () => {
  describeProtocol({
    name: "postgres, separate role calls",
    settings: (dir) => ({ ...postgres(dir), fused_transitions: false }),
  });
});
