/**
 * The protocol suite on the fused transition path, checked to really run there: the settings must
 * bind the path with the expected coverage, and a case in which a fused call failed fails — the
 * engine would otherwise finish that processing over the separate ports and the trace would hide
 * a broken statement or script.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RoleBindings } from "../../src/engine/roles.js";
import type { Logger } from "../../src/logger.js";
import { type ProtocolBackend, ProtocolHarness } from "../support/protocol-harness.js";
import { describeProtocol } from "./protocol.contract.js";

/** Open the settings of `backend` in a scratch directory and check what they bind. */
export async function checkBindings(backend: ProtocolBackend, check: (roles: RoleBindings) => void): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "switchyard-protocol-"));
  const h = await ProtocolHarness.open(backend, dir);
  try {
    check(h.sy.engine.roles);
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `describeProtocol(backend)`, asserting that it binds the fused path as `covers` says and that no fused call fails. */
export function describeFusedProtocol(backend: ProtocolBackend, covers: { readonly checkpoint: boolean; readonly journal: boolean }): void {
  const failures: string[] = [];
  const watching: Logger = {
    debug() {},
    info() {},
    warn(message: string) {
      if (message.startsWith("fused ")) failures.push(message);
    },
    error() {},
  };
  const watched: ProtocolBackend = { ...backend, logger: watching };
  describe(`${backend.name}, every transition fused`, () => {
    afterEach(() => {
      expect(failures.splice(0)).toEqual([]);
    });

    it(`binds the fused path (checkpoint ${covers.checkpoint ? "with it" : "over its port"}, journal ${covers.journal ? "with it" : "over its port"})`, async () => {
      await checkBindings(watched, (roles) => expect(roles.fused).toMatchObject(covers));
    });

    describeProtocol(watched);
  });
}
