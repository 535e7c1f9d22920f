/**
 * A small client for the Memcached text protocol over `node:net`: get, gets, set, add, cas,
 * delete, incr and touch. Requests are pipelined on one connection (replies come back in order);
 * it connects lazily, within a connect timeout, and every reply must come within a command
 * timeout, else the connection is dropped and every waiting request fails. Errors are one line
 * naming the server and what to check.
 */
import { connect, type Socket } from "node:net";
import { SystemError } from "../../errors.js";

/** One value of a get or gets reply. */
export interface MemcachedValue {
  readonly key: string;
  readonly flags: number;
  readonly value: string;
  /** The CAS unique of a gets reply. */
  readonly cas?: string | undefined;
}

/** Reply of set, add and cas. */
export type StoreReply = "STORED" | "NOT_STORED" | "EXISTS" | "NOT_FOUND";

interface Pending {
  readonly operation: string;
  readonly retrieval: boolean;
  readonly values: MemcachedValue[];
  readonly resolve: (reply: string | MemcachedValue[]) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const CRLF = "\r\n";
const MAX_KEY_BYTES = 250;

/** Where to connect and how long to wait. */
export interface MemcachedClientOptions {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
}

/** A pipelined Memcached text-protocol connection. */
export class MemcachedClient {
  readonly address: string;
  readonly #options: MemcachedClientOptions;
  readonly #queue: Pending[] = [];
  #socket: Socket | undefined;
  #connecting: Promise<Socket> | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #closed = false;

  constructor(options: MemcachedClientOptions) {
    this.#options = options;
    this.address = `${options.host}:${options.port}`;
  }

  /** The value of `key`, if stored. */
  async get(key: string): Promise<MemcachedValue | undefined> {
    const [value] = await this.#retrieve("get", key);
    return value;
  }

  /** The value of `key` with its CAS unique, if stored. */
  async gets(key: string): Promise<MemcachedValue | undefined> {
    const [value] = await this.#retrieve("gets", key);
    return value;
  }

  /** Store unconditionally. `exptime`: seconds (≤ 30 days), 0 = no expiry. */
  set(key: string, value: string, exptime: number): Promise<StoreReply> {
    return this.#store("set", key, value, exptime);
  }

  /** Store only if absent. */
  add(key: string, value: string, exptime: number): Promise<StoreReply> {
    return this.#store("add", key, value, exptime);
  }

  /** Store only if unchanged since the `gets` that returned `cas`. */
  cas(key: string, value: string, exptime: number, cas: string): Promise<StoreReply> {
    return this.#store("cas", key, value, exptime, cas);
  }

  /** Delete; true if it was there. */
  async delete(key: string): Promise<boolean> {
    return (await this.#line("delete", `delete ${checkKey(key)}`)) === "DELETED";
  }

  /** Add `by` to a decimal value; undefined if absent. */
  async incr(key: string, by = 1): Promise<number | undefined> {
    const reply = await this.#line("incr", `incr ${checkKey(key)} ${by}`);
    if (reply === "NOT_FOUND") return undefined;
    if (!/^\d+$/.test(reply)) throw this.#error("incr", `unexpected reply "${reply}"`);
    return Number(reply);
  }

  /** Set a new expiry time; true if the key was there. */
  async touch(key: string, exptime: number): Promise<boolean> {
    return (await this.#line("touch", `touch ${checkKey(key)} ${exptime}`)) === "TOUCHED";
  }

  /** Close the connection; waiting requests fail, later ones are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const socket = this.#socket;
    this.#fail(new SystemError(`Memcached client for ${this.address} was closed`));
    if (socket !== undefined && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.end();
        setTimeout(() => socket.destroy(), 500).unref();
      });
    }
  }

  async #store(command: string, key: string, value: string, exptime: number, cas?: string): Promise<StoreReply> {
    const data = Buffer.from(value, "utf8");
    const header = `${command} ${checkKey(key)} 0 ${exptime} ${data.length}${cas === undefined ? "" : ` ${cas}`}`;
    const reply = await this.#send(command, false, Buffer.concat([Buffer.from(header + CRLF), data, Buffer.from(CRLF)]));
    if (reply === "STORED" || reply === "NOT_STORED" || reply === "EXISTS" || reply === "NOT_FOUND") return reply;
    throw this.#error(command, `unexpected reply "${String(reply)}"`);
  }

  async #line(operation: string, command: string): Promise<string> {
    return (await this.#send(operation, false, Buffer.from(command + CRLF))) as string;
  }

  async #retrieve(command: "get" | "gets", key: string): Promise<MemcachedValue[]> {
    return (await this.#send(command, true, Buffer.from(`${command} ${checkKey(key)}${CRLF}`))) as MemcachedValue[];
  }

  async #send(operation: string, retrieval: boolean, request: Buffer): Promise<string | MemcachedValue[]> {
    if (this.#closed) throw new SystemError(`Memcached client for ${this.address} is closed; open the backend again`);
    const socket = await this.#connect();
    if (socket.destroyed || socket !== this.#socket) {
      throw new SystemError(`cannot reach Memcached at ${this.address} (connection lost); check that the server runs`);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new SystemError(
          `Memcached at ${this.address} did not answer ${operation} within ${this.#options.timeoutMs} ms; check that the server runs and is not overloaded (timeout_ms in the URI)`,
        );
        this.#drop(error);
      }, this.#options.timeoutMs);
      this.#queue.push({ operation, retrieval, values: [], resolve, reject, timer });
      socket.write(request);
    });
  }

  #connect(): Promise<Socket> {
    if (this.#socket !== undefined && !this.#socket.destroyed) return Promise.resolve(this.#socket);
    if (this.#connecting !== undefined) return this.#connecting;
    this.#connecting = new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.#options.host, port: this.#options.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })), this.#options.timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        this.#socket = socket;
        this.#buffer = Buffer.alloc(0);
        resolve(socket);
      });
      socket.on("data", (chunk: Buffer) => {
        if (this.#socket === socket) this.#receive(chunk);
      });
      socket.on("error", (error: Error & { code?: string }) => {
        clearTimeout(timer);
        const failure = this.#unreachable(error);
        if (this.#socket === socket) this.#drop(failure);
        else reject(failure);
      });
      socket.on("close", () => {
        clearTimeout(timer);
        if (this.#socket === socket) {
          this.#socket = undefined;
          this.#fail(new SystemError(`Memcached at ${this.address} closed the connection; check that the server runs`));
        }
        reject(this.#unreachable(new Error("connection closed")));
      });
    }).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #receive(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const head = this.#queue[0];
      if (head === undefined) {
        if (this.#buffer.length > 0) this.#drop(this.#error("read", "reply without a request (protocol out of step)"));
        return;
      }
      const end = this.#buffer.indexOf(CRLF);
      if (end < 0) return;
      const line = this.#buffer.toString("utf8", 0, end);
      if (head.retrieval && line.startsWith("VALUE ")) {
        const [, key = "", flags = "0", bytes = "0", cas] = line.split(" ");
        const size = Number(bytes);
        const next = end + 2 + size + 2;
        if (this.#buffer.length < next) return;
        head.values.push({ key, flags: Number(flags), value: this.#buffer.toString("utf8", end + 2, end + 2 + size), cas });
        this.#buffer = this.#buffer.subarray(next);
        continue;
      }
      this.#buffer = this.#buffer.subarray(end + 2);
      this.#queue.shift();
      clearTimeout(head.timer);
      if (line === "ERROR" || line.startsWith("CLIENT_ERROR") || line.startsWith("SERVER_ERROR")) {
        head.reject(this.#error(head.operation, line));
      } else if (head.retrieval) {
        if (line === "END") head.resolve(head.values);
        else head.reject(this.#error(head.operation, `unexpected reply "${line}"`));
      } else {
        head.resolve(line);
      }
    }
  }

  /** Drop the connection (its reply stream can no longer be trusted) and fail every waiting request. */
  #drop(error: Error): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#fail(error);
    socket?.destroy();
  }

  #fail(error: Error): void {
    for (const pending of this.#queue.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#buffer = Buffer.alloc(0);
  }

  #unreachable(error: Error & { code?: string }): SystemError {
    return new SystemError(
      `cannot reach Memcached at ${this.address} (${error.code ?? error.message}); check the memcached:// URI and that the server runs`,
      { cause: error },
    );
  }

  #error(operation: string, reason: string): SystemError {
    return new SystemError(`Memcached at ${this.address}: ${operation} failed: ${reason}`);
  }
}

/** Keys must be 1–250 bytes without spaces or control characters. */
function checkKey(key: string): string {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES || !/^[\x21-\x7e]+$/.test(key)) {
    throw new SystemError(`invalid Memcached key "${key.slice(0, 60)}": keys are 1 to 250 printable characters without spaces`);
  }
  return key;
}
