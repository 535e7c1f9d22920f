/**
 * The AWS Lambda handler (SPEC §5): one function for every way Lambda invokes Switchyard.
 *
 * - SQS, Kinesis, SNS and DynamoDB Streams records → engine processings with partial batch
 *   failures (`records.ts`);
 * - an EventBridge scheduled event → the timer that drains timer-polled sources (`timer.ts`);
 * - API Gateway proxy requests → start instances, read their status and history, send events,
 *   abort, pause, resume, recover and redrive them (`http.ts`);
 * - Step Functions task input → run one transition's user actions only (`step.ts`).
 *
 * One Switchyard is opened lazily per container (on the first invocation that needs it) and reused
 * by every later invocation; a failed open is retried by the next invocation.
 */
import type { Context } from "aws-lambda";
import { Switchyard } from "../client/switchyard.js";
import type { ActionExport } from "../core/action.js";
import type { EcsTaskDefinition } from "../core/task.js";
import { ActionRegistry } from "../definition/actions.js";
import { loadDefinitionFile } from "../definition/load.js";
import type { DefinitionSet } from "../core/machine.js";
import { SystemError, UsageError } from "../errors.js";
import { type Logger, createLogger } from "../logger.js";
import { type Settings, type SettingsConfig, loadSettings } from "../settings/settings.js";
import { type HttpResponse, handleHttp, isHttpEvent } from "./http.js";
import { type BatchResponse, codecsOf, eventSourceOf, isRecordsEvent, processRecords } from "./records.js";
import type { LambdaRecordCodec } from "../lambda-port.js";
import { type StepOutput, isStepInput, runStep } from "./step.js";
import { sweepEcsTasks, sweptTasks } from "./ecs-sweep.js";
import { type TimerSummary, isScheduledEvent, runTimer } from "./timer.js";

/** Options of {@link createHandler}. */
export interface HandlerOptions {
  /** A definition file (YAML) or machines built in code; default: env `SWITCHYARD_DEFINITIONS`. */
  readonly definitions?: string | DefinitionSet | undefined;
  /**
   * Actions registered in code, for bundled deployments whose action modules are not on disk: a
   * reference in the YAML (`./actions.ts#Charge`) or a plain name resolves to the one given here.
   */
  readonly actions?: ActionRegistry | Readonly<Record<string, ActionExport>> | undefined;
  /** A settings file, a settings object (as in a file) or resolved settings; default: env `SWITCHYARD_SETTINGS`. */
  readonly settings?: string | Settings | SettingsConfig | undefined;
  readonly logger?: Logger | undefined;
  /** An already opened Switchyard to use instead of opening one (dev-lambda, tests). */
  readonly switchyard?: Switchyard | undefined;
  /** Record codecs; default: the codecs of the configured sources (SQS, Kinesis, SNS, DynamoDB Streams). */
  readonly codecs?: readonly LambdaRecordCodec[] | undefined;
  /** At most this many messages per timer invocation (default 1000). */
  readonly timerMaxMessages?: number | undefined;
}

/** What the handler returns, by kind of event. */
export type HandlerResult = BatchResponse | TimerSummary | HttpResponse | StepOutput;

/** The Lambda handler, with `close()` for tests and local runs. */
export interface SwitchyardHandler {
  (event: unknown, context?: Partial<Context>): Promise<HandlerResult>;
  /** Close the Switchyard the handler opened (not one passed in). */
  close(): Promise<void>;
}

/** Time kept in reserve before the invocation's deadline when the timer drains sources. */
const TIMER_RESERVE_MS = 5_000;
/** The timer's run time when the context does not tell the remaining time. */
const TIMER_DEFAULT_MS = 60_000;

/**
 * Create the Lambda handler.
 *
 * @example
 * ```ts
 * // handler.ts, bundled with esbuild; SWITCHYARD_SETTINGS names the settings file in the bundle.
 * import { createHandler } from "switchyard-fsm/lambda";
 * import * as actions from "./actions.js";
 *
 * export const handler = createHandler({
 *   definitions: "./fsm.yaml",
 *   actions: { "./actions.ts#Charge": actions.Charge, "./actions.ts#Ship": actions.Ship },
 * });
 * ```
 */
export function createHandler(options: HandlerOptions = {}): SwitchyardHandler {
  const logger = options.logger ?? createLogger();
  let definitions: Promise<DefinitionSet> | undefined;
  let opening: Promise<Switchyard> | undefined;

  const loadDefinitions = (): Promise<DefinitionSet> => {
    if (options.switchyard !== undefined) return Promise.resolve(options.switchyard.definitions);
    definitions ??= resolveDefinitions(options).catch((error: unknown) => {
      definitions = undefined;
      throw error;
    });
    return definitions;
  };
  const switchyard = (): Promise<Switchyard> => {
    if (options.switchyard !== undefined) return Promise.resolve(options.switchyard);
    opening ??= (async () => {
      const sy = await Switchyard.open({ definitions: await loadDefinitions(), settings: resolveSettings(options.settings), logger, tasks: "remote" });
      // A cold start registers the versions it loads (SPEC §10); best effort, like a worker's.
      await sy.engine.catalog.registerOnce().catch((error: Error) => logger.warn(`could not register the definition versions in the journal: ${error.message}`));
      return sy;
    })().catch(
      (error: unknown) => {
        opening = undefined;
        throw error;
      },
    );
    return opening;
  };

  /** The ecs: tasks the timer watches, found once (the definitions do not change while the function runs). */
  let swept: readonly EcsTaskDefinition[] | undefined;
  const handler = async (event: unknown, context?: Partial<Context>): Promise<HandlerResult> => {
    if (isStepInput(event)) return runStep(await loadDefinitions(), event);
    if (isRecordsEvent(event)) {
      const sy = await switchyard();
      const codecs = options.codecs ?? codecsOf(sy.sources);
      const failures = await processRecords(event.Records, { engine: sy.engine, sources: sy.sources, codecs, logger });
      if (failures.length > 0 && event.Records.some((record) => eventSourceOf(record) === "aws:sns")) {
        // SNS has no partial batch response: a failed notification must fail the invocation, so
        // Lambda retries it and finally hands it to the function's dead-letter destination.
        throw new SystemError(`SNS message(s) ${failures.join(", ")} could not be processed; Lambda will retry the invocation`);
      }
      return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
    }
    if (isScheduledEvent(event)) {
      const sy = await switchyard();
      const remaining = context?.getRemainingTimeInMillis?.() ?? TIMER_DEFAULT_MS + TIMER_RESERVE_MS;
      const deadline = Date.now() + Math.max(0, remaining - TIMER_RESERVE_MS);
      const summary = await runTimer(sy.engine, sy.sources, logger, {
        maxMessages: options.timerMaxMessages,
        deadline,
        visibilityTimeoutSeconds: sy.settings.visibilityTimeoutSeconds,
      });
      // Where this function starts ecs: tasks, it stops those whose step was settled without them.
      swept ??= sy.engine.tasks === undefined ? [] : sweptTasks(sy);
      return swept.length === 0 ? summary : { ...summary, ecs: await sweepEcsTasks(sy, swept, logger, deadline) };
    }
    if (isHttpEvent(event)) return handleHttp(event, switchyard, logger);
    throw new UsageError(
      `unsupported Lambda event ${describeEvent(event)}; the Switchyard handler takes SQS, Kinesis, SNS and DynamoDB Streams records, EventBridge scheduled events, API Gateway proxy requests and Step Functions task input ({"switchyard": "step", ...})`,
    );
  };
  return Object.assign(handler, {
    async close() {
      const open = opening;
      opening = undefined;
      if (open !== undefined) await (await open).close();
    },
  });
}

async function resolveDefinitions(options: HandlerOptions): Promise<DefinitionSet> {
  const definitions = options.definitions ?? process.env.SWITCHYARD_DEFINITIONS;
  if (definitions === undefined || definitions === "") {
    throw new UsageError("the Lambda handler has no definitions; pass createHandler({definitions}) or set SWITCHYARD_DEFINITIONS to the definition file (YAML or a module)");
  }
  if (typeof definitions !== "string") return definitions;
  return loadDefinitionFile(definitions, { actions: registryOf(options.actions) });
}

function registryOf(actions: HandlerOptions["actions"]): ActionRegistry | undefined {
  if (actions === undefined || actions instanceof ActionRegistry) return actions;
  const registry = new ActionRegistry();
  for (const [name, exported] of Object.entries(actions)) registry.register(name, exported);
  return registry;
}

function resolveSettings(settings: HandlerOptions["settings"]): Settings {
  if (settings === undefined || typeof settings === "string") return loadSettings({ file: settings });
  if ((settings as Settings).chaos instanceof Map) return settings as Settings;
  return Switchyard.settings(settings);
}

/** A short description of an event's shape for error messages. */
function describeEvent(event: unknown): string {
  if (typeof event !== "object" || event === null) return `(${event === null ? "null" : typeof event})`;
  const keys = Object.keys(event).slice(0, 6);
  return `with keys {${keys.join(", ")}${Object.keys(event).length > keys.length ? ", …" : ""}}`;
}
