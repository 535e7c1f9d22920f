/**
 * What the backends' fused commits share about claiming the next message for the processor
 * (`TransitionCommit.claimNext`): when a commit claims, and the claim token it claims with.
 */
import { randomUUID } from "node:crypto";
import type { TransitionCommit } from "../ports.js";

/** A commit's claim of the next message: the request's `claimNext` and a fresh claim token. */
export interface Claim {
  readonly visibilityTimeoutSeconds: number;
  readonly leaseTimeoutSeconds: number;
  readonly control?: { readonly machineName: string; readonly state: string } | undefined;
  readonly token: string;
}

/** The claim a commit makes: only for a message sent to the stream and due at once, when asked to claim. */
export function claimOf(request: TransitionCommit): Claim | undefined {
  const { claimNext, send } = request;
  if (claimNext === undefined || send === undefined || send.role !== "stream" || send.message.delaySeconds > 0) return undefined;
  return { ...claimNext, token: randomUUID() };
}
