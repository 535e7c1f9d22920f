/**
 * A typed TypeScript builder for one machine. States are the keys of `states`; the types reject an
 * unknown initial state or transition target, and (when a do action's return type is a union of
 * string literals) every event it can return must have a transition. With
 * `defineMachine.withData<TData>()` the actions see the user context as `TData`.
 */
import type { ActionExport, UserData } from "../core/action.js";
import type { Duration } from "../core/duration.js";
import type { MachineConfig, MigrationConfig, StateConfig, TransitionConfig } from "./types.js";

/**
 * An action in the builder: a reference string (`./actions.ts#Log`) or the function or class itself,
 * over a user context of type `TData`.
 */
export type BuilderAction<TData extends object = UserData> = string | ActionExport<TData>;

/** A transition target: a state name, or the target with a transition action and the `local` flag. */
export type BuilderTransition<S extends string, TData extends object = UserData> =
  | S
  | { target: S; action?: BuilderAction<TData>; local?: boolean };

/**
 * A timer transition: taken when the instance has waited `delay` in the state without an event
 * taking it elsewhere. Never local.
 */
export interface BuilderTimer<S extends string, TData extends object = UserData> {
  /** `"90s"`, `"15m"`, `"48h"`, `"30d"` (at most 365 days), or a whole number of seconds. */
  delay: Duration | number;
  target: S;
  action?: BuilderAction<TData>;
}

/** The events an action can return: its string result type, or `string` when it is not known. */
export type EventsOf<A> = A extends (context: never, obj: never) => infer R
  ? Extract<Awaited<R>, string>
  : A extends new (name: string) => { execute(context: never, obj: never): infer R }
    ? Extract<Awaited<R>, string>
    : string;

/** A state in the builder, whose transitions may only target the states `S`. */
export interface BuilderState<S extends string, TData extends object = UserData> {
  final?: boolean;
  entry?: BuilderAction<TData>;
  do?: BuilderAction<TData>;
  exit?: BuilderAction<TData>;
  /** Transitions by event. */
  on?: Record<string, BuilderTransition<S, TData>>;
  /** The state's timer transition (`after:` in YAML). */
  after?: BuilderTimer<S, TData>;
}

/** Requires, of each state whose do action returns known events, a transition for every one of them. */
export type HandledEvents<T> = {
  [K in keyof T]: T[K] extends { do: infer D } ? (string extends EventsOf<D> ? unknown : { on: Record<EventsOf<D>, unknown> }) : unknown;
};

/**
 * A `migrate:` entry in the builder: instances of the earlier version `from` (its hash or label)
 * move to this one, their states renamed by `states` (old name to a state of this machine).
 */
export interface BuilderMigration<S extends string, TData extends object = UserData> {
  from: string;
  states?: Record<string, S>;
  /** Changes the user context of each instance that moves; its result is ignored. */
  action?: BuilderAction<TData>;
}

/** A machine in the builder. */
export interface BuilderMachine<T, TData extends object = UserData> {
  name: string;
  /** A human label for this version (`version:` in YAML); the version itself is a content hash. */
  version?: string;
  /** Default 5. */
  maxRetries?: number;
  initial: keyof T & string;
  /** The compensation state an aborted instance enters (`on_abort:` in YAML); not the initial state. */
  onAbort?: keyof T & string;
  states: T & HandledEvents<T>;
  /** How instances of earlier versions move to this one (`migrate:` in YAML). */
  migrate?: BuilderMigration<keyof T & string, TData>[];
}

/**
 * Build a {@link MachineConfig} with types that catch unknown states and unhandled events at compile
 * time. Pass the result to `defineMachines`, or export it from a definition module. For actions
 * typed by the user context, use {@link defineMachine.withData}.
 *
 * @example
 * ```ts
 * const order = defineMachine({
 *   name: "order",
 *   initial: "received",
 *   states: {
 *     received: { do: validate, on: { valid: "charging", invalid: "rejected" } },
 *     charging: { do: charge, on: { charged: { target: "shipped", action: log, local: true } } },
 *     shipped: { final: true },
 *     rejected: { final: true },
 *     refunding: { do: refund, on: { refunded: "rejected" }, after: { delay: "1h", target: "rejected" } },
 *   },
 *   onAbort: "refunding",
 * });
 * ```
 */
export function defineMachine<T extends Record<string, BuilderState<keyof T & string>>>(
  machine: BuilderMachine<T>,
): MachineConfig {
  return build(machine);
}

// A namespace merged with the function, so `withData` keeps its documentation in the declarations.
export namespace defineMachine {
  /**
   * The builder for machines whose actions see the user context as `TData`: `ctx.data` is typed in
   * every action given inline, and an action declared as `(ctx: ActionContext<TData>) => …` is
   * accepted. Give `TData` explicitly; the machine's states are still inferred.
   *
   * @example
   * ```ts
   * interface Expense { amount: number; approved?: boolean }
   *
   * const expense = defineMachine.withData<Expense>()({
   *   name: "expense",
   *   initial: "submitted",
   *   states: {
   *     submitted: { do: (ctx) => (ctx.data.amount > 100 ? "manual" : "auto"), on: { manual: "reviewing", auto: "approved" } },
   *     reviewing: { do: (ctx) => { ctx.data.approved = true; return "decided"; }, on: { decided: "approved" } },
   *     approved: { final: true },
   *   },
   * });
   * ```
   */
  export function withData<TData extends object>() {
    return <T extends Record<string, BuilderState<keyof T & string, TData>>>(machine: BuilderMachine<T, TData>): MachineConfig => build(machine);
  }
}

/** Any builder machine, its states and data type forgotten: a config holds actions of any data type. */
interface AnyBuilderMachine {
  name: string;
  version?: string;
  maxRetries?: number;
  initial: string;
  onAbort?: string;
  states: object;
  migrate?: object[];
}

function build(machine: AnyBuilderMachine): MachineConfig {
  const states = Object.entries(machine.states as Record<string, BuilderState<string>>).map(
    ([name, state]): StateConfig => ({
      name,
      initial: name === machine.initial || undefined,
      final: state.final,
      entry_action: state.entry,
      do_action: state.do,
      exit_action: state.exit,
      transitions: [
        ...Object.entries(state.on ?? {}).map(([event, to]): TransitionConfig =>
          typeof to === "string" ? { event, target: to } : { event, target: to.target, action: to.action, local: to.local },
        ),
        ...(state.after === undefined ? [] : [timer(state.after)]),
      ],
    }),
  );
  const migrate = (machine.migrate as BuilderMigration<string>[] | undefined)?.map(
    ({ from, states, action }): MigrationConfig => ({ from, states, action }),
  );
  return { name: machine.name, version: machine.version, max_retries: machine.maxRetries, on_abort: machine.onAbort, states, migrate };
}

function timer({ delay, target, action }: BuilderTimer<string>): TransitionConfig {
  // A number is seconds; a bad one (1.5, -1) fails validation as the duration "1.5s".
  return { after: typeof delay === "number" ? `${delay}s` : delay, target, action };
}
