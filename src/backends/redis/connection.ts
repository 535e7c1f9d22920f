/**
 * One ioredis connection per Redis backend, set up to fail fast: no offline queue, one retry per
 * request, connect and command timeouts. A server that is down makes every call throw a one-line
 * {@link SystemError} at once (the engine fails over), while the client reconnects in the background.
 *
 * No auto-pipelining (ioredis `enableAutoPipelining`): measured side by side with the bench, one
 * worker went from about 5,200 to 3,700 transitions/s with it (four workers: the same within noise).
 * Batching belongs where the protocol can batch: a script that does a transition's writes at once.
 * What it does instead is cheaper: past the first command of a turn of callbacks and promise reactions
 * (which leaves at once, so the server starts on it while the turn goes on), the commands issued in
 * that turn leave in one socket write ({@link RedisConnection.run} corks the socket until the next
 * tick), not one system call each. With 3,000 × 10 transitions on 2 cores, side by side: corking
 * every command of a turn took 4 workers from a median of 8,574 to 10,104 transitions/s (CPU per
 * transition 153 → 131 µs) but the stream-port floor with 16 loops in one process from about
 * 10,800 to 8,600 steps/s (the server waited for the whole turn); letting the first command out
 * gave 1 worker 12,733 against 11,792, 4 workers 10,571 against 9,548, and the floor back to
 * 14,400–15,400.
 */
import type { Writable } from "node:stream";
import { Redis } from "ioredis";
import { MAX_TIMER_MS } from "../../core/ranges.js";
import { SystemError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { defineCommands, defineScripts, type RedisScripts } from "./scripts.js";
import { TRANSITION_SCRIPTS, type TransitionScripts } from "./transition-scripts.js";
import type { RedisLocation } from "./uri.js";

/** A client with this backend's Lua scripts defined on it. */
export type ScriptedRedis = Redis & RedisScripts & TransitionScripts;

/** A fail-fast Redis connection and the one-line errors of its calls. */
export class RedisConnection {
  readonly location: RedisLocation;
  readonly #redis: ScriptedRedis;
  readonly #logger: Logger;
  #lastError: Error | undefined;
  #warned = false;
  #corked = false;
  #turn = false;

  constructor(location: RedisLocation, logger: Logger) {
    this.location = location;
    this.#logger = logger;
    const redis = new Redis({
      host: location.host,
      port: location.port,
      db: location.db,
      username: location.username,
      password: location.password,
      tls: location.tls ? {} : undefined,
      lazyConnect: true,
      connectTimeout: location.timeoutMs,
      commandTimeout: location.timeoutMs,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: (attempt: number) => Math.min(attempt * 250, 2_000),
    });
    defineScripts(redis);
    defineCommands(redis, TRANSITION_SCRIPTS);
    this.#redis = redis as ScriptedRedis;
    redis.on("error", (error: Error) => {
      this.#lastError = error;
      if (!this.#warned) {
        this.#warned = true;
        this.#logger.warn(this.#unreachable().message);
      }
    });
    redis.on("ready", () => {
      this.#lastError = undefined;
      this.#warned = false;
    });
  }

  /**
   * Try to connect within the timeout. A server that is down is not an error here: the backend
   * opens, its calls fail (so the engine can fail over) until the server answers again.
   */
  async connect(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.min(MAX_TIMER_MS, this.location.timeoutMs + 100));
    });
    try {
      await Promise.race([this.#redis.connect(), timeout]);
    } catch (error) {
      // The "error" event carries the cause (ECONNREFUSED, ETIMEDOUT, WRONGPASS); keep it.
      this.#lastError ??= error as Error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Whether the server runs in cluster mode (`INFO cluster`), or undefined when it cannot be asked
   * now (down, or a server that refuses INFO).
   */
  async clusterMode(): Promise<boolean | undefined> {
    if (this.#redis.status !== "ready") return undefined;
    try {
      const info = await this.#redis.info("cluster");
      const match = /^cluster_enabled:(\d)/m.exec(info);
      return match === null ? undefined : match[1] === "1";
    } catch {
      return undefined;
    }
  }

  /** Run `call` on the client; any failure becomes one line naming the server and the operation. */
  async run<T>(operation: string, call: (redis: ScriptedRedis) => Promise<T>): Promise<T> {
    if (this.#redis.status !== "ready") throw this.#unreachable();
    this.#cork();
    try {
      return await call(this.#redis);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (/timed out/i.test(reason)) {
        throw new SystemError(
          `Redis at ${this.location.address} did not answer ${operation} within ${this.location.timeoutMs} ms; check that the server runs and is not overloaded (timeout_ms in the URI)`,
          { cause: error },
        );
      }
      if (this.#redis.status !== "ready") throw this.#unreachable(error);
      throw new SystemError(`Redis at ${this.location.address}: ${operation} failed: ${reason.split("\n")[0]}`, { cause: error });
    }
  }

  /**
   * After the first command of the current run of callbacks and promise reactions, hold the
   * socket's writes until that run is over, so the commands issued in it (a worker's transitions
   * resumed by one read of replies) leave in one write instead of one system call each.
   */
  #cork(): void {
    const socket = (this.#redis as unknown as { stream?: Writable }).stream;
    if (this.#corked || socket === undefined) return;
    if (!this.#turn) {
      // The turn's first command leaves at once, so the server starts on it while this turn goes on.
      this.#turn = true;
      process.nextTick(() => {
        this.#turn = false;
        if (!this.#corked) return;
        this.#corked = false;
        socket.uncork();
      });
      return;
    }
    this.#corked = true;
    socket.cork();
  }

  /** Disconnect (politely if connected). */
  async close(): Promise<void> {
    if (this.#redis.status === "ready") {
      try {
        await this.#redis.quit();
        return;
      } catch {
        // fall through to a hard disconnect
      }
    }
    this.#redis.disconnect();
  }

  #unreachable(cause?: unknown): SystemError {
    const error = this.#lastError as (Error & { code?: string }) | undefined;
    const message = error?.message.split("\n")[0] ?? "";
    const why =
      error === undefined
        ? `connection ${this.#redis.status}`
        : /timed? ?out/i.test(message)
          ? `no answer within ${this.location.timeoutMs} ms`
          : (error.code ?? message);
    return new SystemError(
      `cannot reach Redis at ${this.location.address} (${why}); check the ${this.location.tls ? "rediss" : "redis"}:// URI and that the server runs`,
      { cause: cause ?? error },
    );
  }
}
