/**
 * The scheduled timer of the Lambda handler: an EventBridge schedule invokes the handler every
 * minute or so, and it drains the sources Lambda cannot trigger on (`polledOnTimer`, e.g. the
 * DynamoDB retry table) of their due messages, within a bound on count and time.
 */
import type { Engine } from "../engine/engine.js";
import { deliveryLogFields } from "../engine/log-fields.js";
import type { Logger } from "../logger.js";
import type { Delivery, MessageSource } from "../ports.js";
import { isLambdaEventSource } from "../lambda-port.js";
import type { EcsSweep } from "./ecs-sweep.js";

/** Whether an event is an EventBridge scheduled event (or the explicit `{"switchyard": "timer"}`). */
export function isScheduledEvent(event: unknown): boolean {
  if (typeof event !== "object" || event === null) return false;
  const e = event as Record<string, unknown>;
  return (e.source === "aws.events" && e["detail-type"] === "Scheduled Event") || e.switchyard === "timer";
}

/** What one timer run did, per source. */
export interface TimerSummary {
  readonly timer: true;
  readonly sources: Array<{
    readonly uri: string;
    readonly role: "stream" | "retry";
    readonly side: "primary" | "secondary";
    readonly processed: number;
    /** Left for redelivery (the engine could not finish them, or the ack failed). */
    readonly failed: number;
    readonly outcomes: Record<string, number>;
  }>;
  /** Where the machines have `ecs:` tasks: the running ones found, and those stopped (ecs-sweep.ts). */
  readonly ecs?: EcsSweep | undefined;
}

/** Bounds of one timer run. */
export interface TimerOptions {
  /** At most this many messages per run (default 1000). */
  readonly maxMessages?: number | undefined;
  /** Stop receiving at this time (ms since the epoch; the caller keeps its own reserve before it). */
  readonly deadline: number;
  readonly visibilityTimeoutSeconds: number;
}

/** Receive, process and acknowledge the due messages of every timer-polled source. */
export async function runTimer(
  engine: Engine,
  sources: readonly MessageSource[],
  logger: Logger,
  options: TimerOptions,
): Promise<TimerSummary> {
  let budget = options.maxMessages ?? 1000;
  const fields = (delivery: Delivery) => deliveryLogFields(delivery, (body) => engine.decode(body), logger);
  const summary: TimerSummary = { timer: true, sources: [] };
  for (const source of sources) {
    if (!isLambdaEventSource(source) || source.polledOnTimer !== true) continue;
    const entry = { uri: source.uri, role: source.role, side: source.side, processed: 0, failed: 0, outcomes: {} as Record<string, number> };
    summary.sources.push(entry);
    while (budget > 0 && Date.now() < options.deadline) {
      let deliveries: Awaited<ReturnType<MessageSource["receive"]>>;
      try {
        deliveries = await source.receive({ max: Math.min(25, budget), visibilityTimeoutSeconds: options.visibilityTimeoutSeconds });
      } catch (error) {
        logger.error(`timer: cannot receive from ${source.role}.${source.side} (${source.uri}): ${(error as Error).message}`, { role: source.role, side: source.side });
        break;
      }
      if (deliveries.length === 0) break;
      budget -= deliveries.length;
      await Promise.all(
        deliveries.map(async (delivery) => {
          try {
            const outcome = await engine.process(delivery);
            if ("reason" in outcome) {
              logger.error(`timer: message ${delivery.id} from ${source.role}.${source.side} moved to dead letters: ${outcome.reason}`, { ...fields(delivery), outcome: outcome.kind });
              await source.deadLetter(delivery, outcome.reason);
            } else if (outcome.acknowledged !== true) await source.ack(delivery);
            entry.processed++;
            entry.outcomes[outcome.kind] = (entry.outcomes[outcome.kind] ?? 0) + 1;
          } catch (error) {
            entry.failed++;
            logger.error(`timer: message ${delivery.id} from ${source.role}.${source.side} left for redelivery: ${(error as Error).message}`, fields(delivery));
          }
        }),
      );
    }
  }
  return summary;
}
