/**
 * The library API end to end: definitions built in code, the embedded store in a folder of your
 * choice, one instance started and driven to its end, then its status and history.
 *
 *   npx tsx examples/typescript-api/main.ts https://example.com/a
 */
import { defineMachines, Switchyard } from "switchyard-fsm";
import { indexer } from "./machine.js";

const url = process.argv[2] ?? "https://example.com/switchyard";
const store = process.env.SWITCHYARD_STORE ?? "sqlite:.switchyard/typescript-api.db";

const definitions = await defineMachines({ machines: [indexer] });
const sy = await Switchyard.open({ definitions, settings: Switchyard.settings({ stream: store, retry: store, cache: store, checkpoint: store, metrics: store, environment: store, journal: store }) });
try {
  const result = await sy.run("indexer", { context: { url } });
  console.log(`${result.correlation_id}: ${result.status} in state ${result.state}`);
  console.log(JSON.stringify(result.user_context));
  for (const m of result.messages) console.log(`  ${m.steps} ${m.current_state} --${m.current_event}--> (via ${m.role}.${m.side})`);
  process.exitCode = result.status === "completed" ? 0 : 1;
} finally {
  await sy.close();
}
