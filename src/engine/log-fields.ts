/**
 * The fields of a log record about one message, the same names at every site that logs one (the
 * engine, the worker, the Lambda handler, the client's sends). What they are is documented for
 * operators in docs/telemetry.md ("Structured logs"); rename one there too.
 *
 * The user context is personal data more often than not: it joins a record as `context` only when
 * the logger asks for it ({@link Logger.logsContext}, `--log-context`), and no other field holds any
 * of it (no message body, no event data).
 */
import type { SystemContext, UserContext, WireMessage } from "../core/message.js";
import type { Logger } from "../logger.js";
import type { Delivery } from "../ports.js";

/** The fields of a record about one message. */
export interface MessageLogFields {
  correlationId: string;
  machine: string;
  /** The machine version the message is pinned to, when it is. */
  version?: string;
  state: string;
  event: string;
  steps: number;
  retries: number;
  /** The user context, only with {@link Logger.logsContext}. */
  context?: UserContext;
  [key: string]: unknown;
}

/** The fields of a record about the message whose system context is `system`. */
export function systemLogFields(system: SystemContext, userContext: UserContext | undefined, logger: Logger): MessageLogFields {
  const fields: MessageLogFields = {
    correlationId: system.correlation_id,
    machine: system.machine_name,
    state: system.current_state,
    event: system.current_event,
    steps: system.steps,
    retries: system.retries,
  };
  if (system.machine_version !== undefined) fields.version = system.machine_version;
  if (logger.logsContext === true && userContext !== undefined) fields.context = userContext;
  return fields;
}

/** The fields of a record about `message`. */
export function messageLogFields(message: WireMessage, logger: Logger): MessageLogFields {
  return systemLogFields(message.system_context, message.user_context, logger);
}

/**
 * The fields of a record about a delivery the caller has not decoded (a worker, the Lambda
 * handler): where it came from, and the message's fields when its body decodes. Decodes the body:
 * for records off the hot path (errors, dead letters) only.
 */
export function deliveryLogFields(delivery: Delivery, decode: (body: string) => WireMessage, logger: Logger): Record<string, unknown> {
  const where = { messageId: delivery.id, role: delivery.role, side: delivery.side };
  try {
    return { ...messageLogFields(decode(delivery.body), logger), ...where };
  } catch {
    return where;
  }
}
