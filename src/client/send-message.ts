/**
 * Sending one message from outside a processing (an external event, a redriven dead letter) the way
 * the engine sends a next message: the stream's primary, its secondary, then the retry role.
 */
import { ErrorTally } from "../core/counters.js";
import { type SentMessage, sendToRole } from "../engine/roles.js";
import { PayloadTooLargeError, SystemError } from "../errors.js";
import { silentLogger } from "../logger.js";
import type { WireMessage } from "../core/message.js";
import { messageLogFields } from "../engine/log-fields.js";
import type { OutgoingMessage } from "../ports.js";
import type { StarterDeps } from "./start.js";

/**
 * Send `outgoing` to the stream's primary, its secondary, then the retry role; `what` names it in
 * the error when every backend failed (`the event to instance order-7`); `wire`, the message
 * decoded when the caller has it, gives the warnings of failed sides their fields. A message too
 * large for the primary is refused at once: the same bytes would fail everywhere, and the caller
 * must shrink the data.
 */
export async function sendWithFailover(
  deps: Pick<StarterDeps, "roles" | "logger">,
  outgoing: OutgoingMessage,
  what: string,
  wire?: WireMessage,
): Promise<SentMessage> {
  const logger = deps.logger ?? silentLogger;
  const errors = new ErrorTally();
  try {
    return { role: "stream", side: "primary", receipt: await deps.roles.stream.primary.send(outgoing) };
  } catch (error) {
    if (error instanceof PayloadTooLargeError) throw error;
    logger.warn(`could not send to stream.primary (${deps.roles.stream.primary.uri}): ${(error as Error).message}`, {
      ...(wire === undefined ? { correlationId: outgoing.correlationId, steps: outgoing.steps, retries: outgoing.retries } : messageLogFields(wire, logger)),
      role: "stream",
      side: "primary",
    });
  }
  const sent =
    (await sendToRole(deps.roles, "stream", outgoing, errors, logger, { skipPrimary: true, wire })) ??
    (await sendToRole(deps.roles, "retry", outgoing, errors, logger, { wire }));
  if (sent === undefined) throw new SystemError(`could not send ${what}: every stream and retry backend failed`);
  return sent;
}
