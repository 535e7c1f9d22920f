/** Command-line tools some suites drive (moto_server, cfn-lint), a free loopback port for them, and moto_server started. */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";

/**
 * The path of tool `name` (`env` overrides it), or undefined when this machine lacks it: then the
 * suites that need it are skipped with a printed reason, and with CI set this throws instead.
 */
export function tool(name: string, env: string): string | undefined {
  const found = process.env[env] ?? (existsSync(`/root/.pyenv/shims/${name}`) ? `/root/.pyenv/shims/${name}` : which(name));
  if (found !== undefined) return found;
  if (process.env.CI === "true" || process.env.CI === "1") throw new Error(`${name} is required with CI set (install it, or set ${env})`);
  console.warn(`skipping the suites that need ${name}: it is not installed (set ${env} to its path)`);
  return undefined;
}

function which(name: string): string | undefined {
  const result = spawnSync("which", [name], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** A TCP port free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

/** A moto_server started by a suite. */
export interface RunningMoto {
  /** `http://127.0.0.1:PORT`: the endpoint of every service it emulates. */
  readonly endpoint: string;
  stop(): void;
}

/**
 * Start `moto_server` (the path {@link tool} found) on a free loopback port and wait until it
 * answers; sets fake AWS credentials when none are set, so the SDK signs its requests.
 */
export async function startMotoServer(binary: string): Promise<RunningMoto> {
  const port = await freePort();
  const child = spawn(binary, ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  const endpoint = `http://127.0.0.1:${port}`;
  process.env.AWS_ACCESS_KEY_ID ??= "test";
  process.env.AWS_SECRET_ACCESS_KEY ??= "test";
  for (let attempt = 0; ; attempt++) {
    try {
      await fetch(`${endpoint}/moto-api/`);
      return { endpoint, stop: () => child.kill("SIGTERM") };
    } catch (error) {
      if (attempt > 100) {
        child.kill("SIGTERM");
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
