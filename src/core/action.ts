/**
 * The action API (fixed: user code and later runtimes depend on it).
 *
 * An action is a function `(context, obj) => event | undefined` (sync or async) or a class with that
 * `execute` method. The returned string is the next event; only a `do_action`'s result drives the
 * machine, the results of entry, exit and transition actions are ignored.
 */

/** What an action sees of its instance. Only `data` (the user context) may be changed. */
export interface ActionContext {
  /** The user context: a JSON object the actions read and write. */
  data: Record<string, unknown>;
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

/** An action as a function. */
export type ActionFunction = (
  context: ActionContext,
  obj: ActionObj,
) => ActionResult | Promise<ActionResult>;

/** An action as a class: constructed once per definition load with the action's reference. */
export interface ActionClass {
  new (name: string): { execute: ActionFunction };
}

/** Anything an action reference may resolve to. */
export type ActionExport = ActionFunction | ActionClass;

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
  return <F extends ActionFunction>(action: F, _decoratorContext?: unknown): F => {
    const wrapped = async function (this: unknown, context: ActionContext, obj: ActionObj) {
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
