/**
 * Step Functions task mode: the Lambda handler invoked by a Task state of the document that
 * `switchyard asl` emits. It runs only the user actions of one transition — the exit action of the
 * state the execution comes from, the transition's action, the entry and do actions of the Task's
 * state — on the context it is given, and returns the next event for the Choice state that follows.
 * No transport, lease, cache or journal is touched: Step Functions keeps the state and retries.
 */
import type { ActionContext, ActionObj } from "../core/action.js";
import { PSEUDO_INIT } from "../core/message.js";
import { planTransition } from "../core/transitions.js";
import type { DefinitionSet } from "../core/machine.js";
import { UsageError } from "../errors.js";

/** The marker of a Step Functions task input. */
export const STEP_MARKER = "step";

/** What a Task state passes to the handler (see `lambda/asl.ts`). */
export interface StepInput {
  readonly switchyard: typeof STEP_MARKER;
  readonly machine: string;
  /** The FSM state this Task runs (the target of the transition). */
  readonly state: string;
  /** The state the execution comes from (`pseudo_init` for the first Task). */
  readonly from?: string | undefined;
  /** The event that led here (`pseudo_init` for the first Task). */
  readonly event?: string | null | undefined;
  /** The user context. */
  readonly context: Record<string, unknown>;
  /** Transitions taken so far (0 for the first Task). */
  readonly steps?: number | undefined;
  /** `$$.State.RetryCount`: how often Step Functions retried this Task. */
  readonly retries?: number | undefined;
  /** `$$.Execution.Name`, the correlation id the actions see. */
  readonly correlationId?: string | undefined;
}

/** What the handler returns to the Choice state: the next event (null when there is none). */
export interface StepOutput {
  readonly state: string;
  readonly event: string | null;
  readonly context: Record<string, unknown>;
  readonly steps: number;
  readonly final: boolean;
}

/** Whether an event is a Step Functions task input for Switchyard. */
export function isStepInput(event: unknown): event is StepInput {
  return typeof event === "object" && event !== null && (event as { switchyard?: unknown }).switchyard === STEP_MARKER;
}

/**
 * Run the user actions of the transition into `input.state` and return the next event.
 * Errors thrown by actions propagate unchanged (the Task's Retry and Catch handle them).
 */
export async function runStep(definitions: DefinitionSet, input: StepInput): Promise<StepOutput> {
  const machine = definitions.get(String(input.machine));
  const context = input.context;
  if (typeof context !== "object" || context === null || Array.isArray(context)) {
    throw new UsageError(`step input for ${machine.name}.${input.state} has no "context" object; start the execution with {"context": {...}}`);
  }
  const from = input.from ?? PSEUDO_INIT;
  const event = input.event ?? PSEUDO_INIT;
  const plan = planTransition(machine, from, event);
  if (plan.transition.target !== input.state) {
    throw new UsageError(
      `machine "${machine.name}": event "${event}" from "${from}" leads to "${plan.transition.target}", not "${input.state}"; regenerate the state machine with switchyard asl`,
    );
  }
  const steps = input.steps ?? 0;
  const retries = input.retries ?? 0;
  const data = structuredClone(context);
  const obj: ActionObj = { fenceToken: 0, delay: undefined };
  let next: unknown;
  for (const planned of plan.actions) {
    const actionContext: ActionContext = {
      data,
      steps,
      retries,
      correlationId: input.correlationId ?? "",
      machineName: machine.name,
      maxRetries: machine.maxRetries,
      currentState: planned.state,
      currentEvent: event,
    };
    const returned = await planned.action.execute(actionContext, obj);
    if (planned.phase === "do") next = returned;
  }
  if (next !== undefined && next !== null && typeof next !== "string") {
    throw new TypeError(`do_action of state "${input.state}" returned ${JSON.stringify(next)}; return an event name (a string) or nothing`);
  }
  return {
    state: input.state,
    event: plan.final ? null : ((next as string | null | undefined) ?? null),
    context: data,
    steps: steps + 1,
    final: plan.final,
  };
}
