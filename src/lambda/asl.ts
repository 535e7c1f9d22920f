/**
 * A machine as an Amazon States Language document (`switchyard asl`). Step Functions keeps the
 * instance and retries; the Lambda handler (task mode, `lambda/step.ts`) runs the user actions.
 *
 * Shape: a Pass state `pseudo_init` seeds `{state, event, context, steps}`; each FSM state becomes a
 * Task (named like the state) that invokes the handler with `{switchyard: "step", machine, state,
 * from, event, context, …}` and retries action errors with the machine's `max_retries` and the
 * protocol's full-jitter backoff; a Choice state (`<state> ?`) routes on `$.event` to the Task of
 * the transition's target. Final states go to a Succeed state; an action that fails past its retries
 * or an event with no transition ends in a Fail state. Local transitions become ordinary hops.
 *
 * A timer transition (`after: 48h`) becomes a Choice rule on a null `$.event` (the do_action returned
 * nothing: the instance waits) leading to a Wait state of that many seconds, then a Pass state that
 * sets the event to `pseudo_timer` for the target's Task. Step Functions delivers no external events,
 * so there the timer always fires; a Wait longer than five minutes needs a Standard workflow.
 *
 * `on_abort` has no counterpart: stopping an execution runs no compensation. Only the states the
 * initial state leads to are emitted (Step Functions rejects unreachable states), and the document's
 * Comment says that `on_abort` was left out.
 */
import { PSEUDO_FINAL, PSEUDO_INIT, TIMER_EVENT } from "../core/message.js";
import type { MachineDefinition, StateDefinition, TransitionDefinition } from "../core/machine.js";
import { UsageError } from "../errors.js";
import { STEP_MARKER } from "./step.js";

/** One state of an ASL document (the fields Switchyard emits). */
export type AslState = Readonly<Record<string, unknown>> & { readonly Type: string };

/** An Amazon States Language document. */
export interface AslDocument {
  readonly Comment: string;
  readonly StartAt: string;
  readonly States: Readonly<Record<string, AslState>>;
}

/** Options of {@link toAsl}. */
export interface AslOptions {
  /** ARN of the deployed Switchyard handler (a function, alias or version ARN). */
  readonly lambdaArn: string;
}

/** Longest state name Step Functions accepts. */
const MAX_NAME_LENGTH = 80;

/**
 * The ASL document of `machine`.
 *
 * @example
 * ```ts
 * const asl = toAsl(definitions.get("order"), { lambdaArn: "arn:aws:lambda:eu-west-1:123456789012:function:switchyard" });
 * ```
 */
export function toAsl(machine: MachineDefinition, options: AslOptions): AslDocument {
  if (!/^arn:aws[a-z-]*:lambda:[^:]+:[^:]*:function:.+/.test(options.lambdaArn)) {
    throw new UsageError(`--lambda-arn "${options.lambdaArn}" is not a Lambda function ARN; write arn:aws:lambda:REGION:ACCOUNT:function:NAME`);
  }
  const emitted = reachableStates(machine);
  const taken = new Set<string>(emitted.map((state) => state.name));
  const reserve = (name: string) => {
    let unique = name;
    while (taken.has(unique)) unique = `${unique}_`;
    taken.add(unique);
    return unique;
  };
  const succeed = reserve(PSEUDO_FINAL);
  const actionFailed = reserve("action failed");
  const noTransition = reserve("no transition");
  const choices = new Map(emitted.map(({ name }) => [name, reserve(`${name} ?`)]));
  const timers = new Map<string, { transition: TransitionDefinition; after: string; wait: string; fire: string }>();
  for (const state of emitted) {
    const transition = state.final ? undefined : state.transitions.get(TIMER_EVENT);
    if (transition?.afterSeconds === undefined) continue;
    const after = transition.after ?? `${transition.afterSeconds}s`;
    timers.set(state.name, { transition, after, wait: reserve(`${state.name} after ${after}`), fire: reserve(`${state.name} ${TIMER_EVENT}`) });
  }
  for (const name of taken) {
    if (name.length > MAX_NAME_LENGTH) {
      throw new UsageError(`state name "${name}" is longer than the ${MAX_NAME_LENGTH} characters Step Functions allows; shorten it`);
    }
  }

  const states: Record<string, AslState> = {
    [PSEUDO_INIT]: {
      Type: "Pass",
      Comment: "seed the first transition: pseudo_init --pseudo_init--> the initial state",
      Parameters: { "context.$": "$.context", state: PSEUDO_INIT, event: PSEUDO_INIT, steps: 0 },
      Next: machine.initialState,
    },
  };
  for (const state of emitted) {
    const choice = choices.get(state.name) as string;
    states[state.name] = task(machine, state, options.lambdaArn, state.final ? succeed : state.transitions.size > 0 ? choice : noTransition, actionFailed);
    if (state.final || state.transitions.size === 0) continue;
    const timer = timers.get(state.name);
    const rules: Record<string, unknown>[] = [...state.transitions.values()]
      .filter((transition) => transition.afterSeconds === undefined)
      .map((transition) => ({ Variable: "$.event", StringEquals: transition.event, Next: transition.target }));
    if (timer !== undefined) rules.push({ Variable: "$.event", IsNull: true, Next: timer.wait });
    states[choice] = { Type: "Choice", Choices: rules, Default: noTransition };
    if (timer !== undefined) {
      states[timer.wait] = {
        Type: "Wait",
        Comment: `Step Functions delivers no external events: the timer of ${state.name} (after ${timer.after}) always fires`,
        Seconds: timer.transition.afterSeconds,
        Next: timer.fire,
      };
      states[timer.fire] = {
        Type: "Pass",
        Comment: `the timer fires: ${state.name} --${TIMER_EVENT}--> ${timer.transition.target}`,
        Parameters: { "state.$": "$.state", event: TIMER_EVENT, "context.$": "$.context", "steps.$": "$.steps" },
        Next: timer.transition.target,
      };
    }
  }
  states[succeed] = { Type: "Succeed" };
  states[actionFailed] = {
    Type: "Fail",
    Error: "ActionFailed",
    Cause: `an action of machine ${machine.name} failed past its retries (max_retries ${machine.maxRetries}) or fatally; see the execution history`,
  };
  states[noTransition] = {
    Type: "Fail",
    Error: "NoTransition",
    Cause: `a do_action of machine ${machine.name} returned an event its state has no transition for (or none); waiting states need the Switchyard runtime, not Step Functions`,
  };
  const abort = machine.onAbort === undefined ? "" : `; its on_abort (${machine.onAbort}) is not exported: stopping an execution runs no compensation`;
  return { Comment: `Switchyard machine ${machine.name} (generated by switchyard asl)${abort}`, StartAt: PSEUDO_INIT, States: states };
}

/** The states the initial state leads to, in definition order. */
function reachableStates(machine: MachineDefinition): StateDefinition[] {
  const seen = new Set([machine.initialState]);
  const pending = [machine.initialState];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    for (const { target } of machine.states.get(name)?.transitions.values() ?? []) {
      if (!seen.has(target)) {
        seen.add(target);
        pending.push(target);
      }
    }
  }
  return [...machine.states.values()].filter((state) => seen.has(state.name));
}

function task(machine: MachineDefinition, state: StateDefinition, lambdaArn: string, next: string, failed: string): AslState {
  return {
    Type: "Task",
    Resource: lambdaArn,
    Parameters: {
      switchyard: STEP_MARKER,
      machine: machine.name,
      state: state.name,
      "from.$": "$.state",
      "event.$": "$.event",
      "context.$": "$.context",
      "steps.$": "$.steps",
      "retries.$": "$$.State.RetryCount",
      "correlationId.$": "$$.Execution.Name",
    },
    Retry: [
      // An action that throws FatalActionError asks for no retries (SPEC §3 step 6).
      { ErrorEquals: ["FatalActionError"], MaxAttempts: 0 },
      {
        ErrorEquals: ["States.ALL"],
        IntervalSeconds: 1,
        MaxAttempts: machine.maxRetries,
        BackoffRate: 2,
        MaxDelaySeconds: 60,
        JitterStrategy: "FULL",
      },
    ],
    Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: failed }],
    Next: next,
  };
}
