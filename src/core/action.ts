/**
 * The action API (fixed: user code and later runtimes depend on it).
 *
 * An action is a function `(context, obj) => event | undefined` (sync or async) or a class with that
 * `execute` method. The returned string is the next event; only a `do_action`'s result drives the
 * machine, the results of entry, exit and transition actions are ignored.
 */

/**
 * The user context when nothing more is known of it: any JSON object. The default of every `TData`
 * type parameter below.
 */
export type UserData = Record<string, unknown>;

/**
 * What an action sees of its instance. Only `data` (the user context) may be changed. `TData` is the
 * shape of the user context, for actions written for one machine; it is a promise the actions and
 * the callers that start instances keep together, not checked at run time.
 *
 * @example
 * ```ts
 * interface Expense { amount: number; approved?: boolean }
 * const review = (ctx: ActionContext<Expense>) => (ctx.data.amount > 100 ? "manual" : "auto");
 * ```
 */
export interface ActionContext<TData extends object = UserData> {
  /** The user context: a JSON object the actions read and write. */
  data: TData;
  readonly steps: number;
  readonly retries: number;
  readonly correlationId: string;
  readonly machineName: string;
  readonly maxRetries: number;
  /** The state the instance is in while this action runs. */
  readonly currentState: string;
  /** The event being processed. */
  readonly currentEvent: string;
}

/** Per-processing data shared by the actions of one message processing. */
export interface ActionObj {
  /** The fence token of the lease held for this processing; use it to guard shared resources. */
  readonly fenceToken: number;
  /** Seconds to wait before the next message is delivered; an action may set it. */
  delay?: number | undefined;
}

/** An event name, or nothing. */
// biome-ignore lint/suspicious/noConfusingVoidType: an action that returns nothing is typed void
export type ActionResult = string | undefined | void;

/** An action as a function, over a user context of type `TData`. */
export type ActionFunction<TData extends object = UserData> = (
  context: ActionContext<TData>,
  obj: ActionObj,
) => ActionResult | Promise<ActionResult>;

/** An action as a class: constructed once per definition load with the action's reference. */
export interface ActionClass<TData extends object = UserData> {
  new (name: string): { execute: ActionFunction<TData> };
}

/** Anything an action reference may resolve to. */
export type ActionExport<TData extends object = UserData> = ActionFunction<TData> | ActionClass<TData>;

/** A loaded action, ready to run. */
export interface Action {
  /** The reference it was loaded from (`./actions.ts#Log`) or the name it was registered under. */
  readonly name: string;
  execute: ActionFunction;
}

/** Turn an export (function or class) into an {@link Action}. */
export function toAction(name: string, exported: ActionExport): Action {
  if (isActionClass(exported)) {
    const instance = new exported(name);
    if (typeof instance.execute !== "function") {
      throw new TypeError(`action ${name} is a class without an execute(context, obj) method`);
    }
    return { name, execute: (context, obj) => instance.execute(context, obj) };
  }
  return { name, execute: exported };
}

function isActionClass(value: ActionExport): value is ActionClass {
  return (
    typeof value === "function" &&
    /^class[\s{]/.test(Function.prototype.toString.call(value)) &&
    typeof (value as { prototype?: { execute?: unknown } }).prototype?.execute === "function"
  );
}

/**
 * Turn the last failed retry of an action into an event instead of a fatal failure: when the
 * wrapped action throws on its final allowed attempt (`retries >= maxRetries`), the wrapper returns
 * `event`, so the machine can move to a compensating state. Earlier failures are rethrown and
 * retried as usual. Works on functions and as a method decorator.
 *
 * @example
 * ```ts
 * export const Charge = maxRetryEvent("charge_failed")(async (ctx) => {
 *   await payments.charge(ctx.data.orderId as string);
 *   return "charged";
 * });
 *
 * export class Ship {
 *   @maxRetryEvent("ship_failed")
 *   async execute(ctx: ActionContext) { ... }
 * }
 * ```
 */
export function maxRetryEvent(event: string) {
  // `never` data: any action's context type, typed or not, is accepted.
  return <F extends ActionFunction<never>>(action: F, _decoratorContext?: unknown): F => {
    const wrapped = async function (this: unknown, context: ActionContext<never>, obj: ActionObj) {
      try {
        return await action.call(this, context, obj);
      } catch (error) {
        if (context.retries >= context.maxRetries) return event;
        throw error;
      }
    };
    return wrapped as unknown as F;
  };
}
