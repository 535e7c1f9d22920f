/**
 * Memcached keys of the cache role: `PREFIX:lease:CID`, `PREFIX:fence:CID`, `PREFIX:dispatched:CID`.
 * A correlation id that is not printable ASCII without spaces, or that would make the key longer
 * than Memcached's 250 bytes, is replaced by its SHA-256 (`PREFIX:lease#<base64url>`).
 */
import { createHash } from "node:crypto";

/** The three keys of one instance. */
export function instanceKeys(prefix: string, correlationId: string) {
  const name = (kind: string) => {
    const plain = `${prefix}:${kind}:${correlationId}`;
    if (/^[\x21-\x7e]+$/.test(correlationId) && Buffer.byteLength(plain) <= 250) return plain;
    return `${prefix}:${kind}#${createHash("sha256").update(correlationId).digest("base64url")}`;
  };
  return { lease: name("lease"), fence: name("fence"), dispatched: name("dispatched") } as const;
}
