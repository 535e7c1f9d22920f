/**
 * In-process AWS emulators for tests, on free loopback ports: fauxqs (SQS and SNS) and kinesalite
 * (Kinesis, in memory, streams ACTIVE at once, shard limit 10 000). Both set fake AWS credentials when none are set,
 * so the SDK signs its requests. DynamoDB's emulator is in `dynalite.ts`.
 */
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { startFauxqs as startFauxqsServer } from "fauxqs";

/** A running emulator. */
export interface RunningEmulator {
  /** `http://127.0.0.1:PORT`: use as the service endpoint (settings `endpoints.sqs`, `.sns`, `.kinesis`). */
  readonly endpoint: string;
  /** Stop the server and drop its data. */
  close(): Promise<void>;
}

/** Options kinesalite accepts (the package ships no types). */
interface KinesaliteOptions {
  readonly createStreamMs?: number;
  readonly deleteStreamMs?: number;
  readonly updateStreamMs?: number;
  readonly shardLimit?: number;
}

const require = createRequire(import.meta.url);

function fakeCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID ??= "test";
  process.env.AWS_SECRET_ACCESS_KEY ??= "test";
}

/**
 * Start fauxqs (SQS and SNS on one endpoint) on a free loopback port; call `close()` when done
 * (e.g. in `afterAll`).
 */
export async function startFauxqs(): Promise<RunningEmulator> {
  fakeCredentials();
  const server = await startFauxqsServer({ port: 0, logger: false, host: "127.0.0.1" });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    close: () => server.stop(),
  };
}

/** Start kinesalite (in memory) on a free loopback port; call `close()` when done. */
export async function startKinesalite(): Promise<RunningEmulator> {
  fakeCredentials();
  const kinesalite = require("kinesalite") as (options: KinesaliteOptions) => Server;
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 10_000 });
  return serve(server);
}

/** Listen on a free loopback port; the emulator's endpoint and how to stop it. */
export async function serve(server: Server): Promise<RunningEmulator> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
