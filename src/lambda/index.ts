/**
 * `switchyard/lambda`: the AWS Lambda runtime. Deploy {@link createHandler} as the function's
 * handler; drive it locally against emulators with {@link DevLambda} (`switchyard dev-lambda`);
 * generate a Step Functions state machine with {@link toAsl} (`switchyard asl`).
 *
 * @example
 * ```ts
 * import { createHandler } from "switchyard-fsm/lambda";
 * export const handler = createHandler({ definitions: "./fsm.yaml" });
 * ```
 */
import { createHandler } from "./handler.js";

export { type AslDocument, type AslOptions, type AslState, toAsl } from "./asl.js";
export { DevLambda, type DevLambdaOptions, type DevLambdaStats, lambdaContext, scheduledEvent } from "./dev-lambda.js";
export { type HandlerOptions, type HandlerResult, type SwitchyardHandler, createHandler } from "./handler.js";
export type { HttpResponse } from "./http.js";
export type { BatchResponse } from "./records.js";
export { type LambdaEventSource, type LambdaRecord, type LambdaRecordCodec, isLambdaEventSource } from "../lambda-port.js";
export { STEP_MARKER, type StepInput, type StepOutput } from "./step.js";
export type { TimerSummary } from "./timer.js";

/**
 * A ready handler configured from the environment alone: `SWITCHYARD_DEFINITIONS` (the YAML file,
 * whose action modules must be loadable `.js`/`.mjs` files next to it) and `SWITCHYARD_SETTINGS`.
 * Nothing is opened until the first invocation.
 */
export const handler = createHandler();
