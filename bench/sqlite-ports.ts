/**
 * Micro-benchmark of the SQLite ports: the port calls of one transition (receive, acquire lease,
 * duplicate check, send, mark dispatched, checkpoint, ack, release lease, journal update) for N
 * instances, processed in batches as a worker would, under each commit mode and sync level.
 *
 * Usage: node --import tsx bench/sqlite-ports.ts [instances=20000] [batch=100]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CommitMode,
  SqliteCache,
  SqliteCheckpointStore,
  SqliteDatabase,
  SqliteJournal,
  SqliteStream,
} from "../src/backends/sqlite/index.js";
import type { Delivery } from "../src/ports.js";

const instances = Number(process.argv[2] ?? 20_000);
const batch = Number(process.argv[3] ?? 100);
const PORT_CALLS_PER_TRANSITION = 8; // plus one receive per batch

async function run(commitMode: CommitMode, synchronous: "FULL" | "NORMAL", n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  const db = new SqliteDatabase(join(dir, "bench.db"), { commitMode, synchronous });
  const options = { uri: "sqlite:bench.db" };
  const [stream, cache, checkpoint, journal] = [
    new SqliteStream(db, options),
    new SqliteCache(db, options),
    new SqliteCheckpointStore(db, options),
    new SqliteJournal(db, options),
  ];
  const message = (i: number, steps: number, delaySeconds: number) => ({
    correlationId: `instance-${i}`,
    steps,
    retries: 0,
    body: JSON.stringify({ version: "0.1", system_context: { correlation_id: `instance-${i}`, steps }, user_context: { i } }),
    delaySeconds,
  });
  for (let i = 0; i < n; i += 1000) {
    await stream.sendBatch(Array.from({ length: Math.min(1000, n - i) }, (_, k) => message(i + k, 1, 0)));
    db.flush();
  }

  const transition = async (delivery: Delivery, i: number) => {
    const id = `instance-${i}`;
    const lease = await cache.acquireLease(id, 1, 0, 300);
    if (!lease.acquired || (await cache.isDispatched(id, 1))) throw new Error("unexpected state");
    // The next message is delayed so this run does not receive it again.
    const receipt = await stream.send(message(i, 2, 3600));
    await cache.markDispatched(id, 1, 86_400);
    await checkpoint.store(id, 2, receipt);
    await stream.ack(delivery);
    await cache.releaseLease(id, 1, 0, lease.fenceToken);
    await journal.updateInstance(id, { machineName: "bench", status: "running", state: "s2", userContext: { i }, reason: undefined, steps: 1 });
  };

  const started = performance.now();
  let done = 0;
  let receives = 0;
  while (done < n) {
    const deliveries = await stream.receive({ max: batch, visibilityTimeoutSeconds: 300 });
    receives++;
    await Promise.all(deliveries.map((d) => transition(d, Number(JSON.parse(d.body).user_context.i))));
    done += deliveries.length;
  }
  db.flush();
  const seconds = (performance.now() - started) / 1000;
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  const perSecond = (count: number) => Math.round(count / seconds).toLocaleString("en-US");
  console.log(
    `${`${commitMode}, synchronous=${synchronous}`.padEnd(36)} ${String(n).padStart(6)} transitions in ${seconds.toFixed(2)} s: ` +
      `${perSecond(n).padStart(8)} transitions/s, ${perSecond(n * PORT_CALLS_PER_TRANSITION + receives).padStart(9)} port calls/s`,
  );
}

console.log(`SQLite port calls of one transition, ${instances} instances, batches of ${batch}`);
await run("group", "FULL", instances);
await run("group", "NORMAL", instances);
await run("group-durable", "FULL", instances);
await run("group-durable", "NORMAL", instances);
// One commit (and with FULL one fsync) per write: fewer instances keep the run short.
await run("each", "FULL", Math.min(instances, 2_000));
await run("each", "NORMAL", Math.min(instances, 2_000));
