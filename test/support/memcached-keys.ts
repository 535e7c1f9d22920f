/**
 * Test clean-up for Memcached, which cannot list keys by pattern: walk every item with
 * `lru_crawler metadump all` and delete the keys that contain a fragment (a test run's prefix).
 */
import { connect } from "node:net";
import { MemcachedClient } from "../../src/backends/memcached/client.js";
import { MEMCACHED_URL } from "./servers.js";

const { hostname, port } = new URL(MEMCACHED_URL);
const host = hostname || "127.0.0.1";
const portNumber = Number(port || 11211);

/** The keys the server holds that contain `fragment`. */
async function keysContaining(fragment: string): Promise<string[]> {
  const dump = await new Promise<string>((resolve, reject) => {
    const socket = connect({ host, port: portNumber }, () => socket.write("lru_crawler metadump all\r\n"));
    let text = "";
    socket.setTimeout(5_000, () => socket.destroy(new Error("metadump timed out")));
    socket.on("data", (chunk) => {
      text += chunk.toString("utf8");
      if (text.endsWith("END\r\n") || text.startsWith("ERROR") || text.startsWith("BUSY")) {
        socket.end();
        resolve(text);
      }
    });
    socket.on("error", reject);
  });
  return dump
    .split("\n")
    .map((line) => /^key=(\S+)/.exec(line)?.[1])
    .filter((key): key is string => key !== undefined)
    .map((key) => decodeURIComponent(key))
    .filter((key) => key.includes(fragment));
}

/** Delete every Memcached key that contains `fragment`. */
export async function deleteMemcachedKeys(fragment: string): Promise<void> {
  const client = new MemcachedClient({ host, port: portNumber, timeoutMs: 2_000 });
  try {
    for (const key of await keysContaining(fragment)) await client.delete(key);
  } finally {
    await client.close();
  }
}

/** How many keys containing `fragment` the server holds. */
export async function countMemcachedKeys(fragment: string): Promise<number> {
  return (await keysContaining(fragment)).length;
}
