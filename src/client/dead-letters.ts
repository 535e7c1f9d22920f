/**
 * Redriving dead letters (SPEC §9, `switchyard dead-letters redrive`): once the cause of a dead
 * letter is fixed (a worker that now has the machine), send its body again, unchanged, like any
 * next message (stream primary, secondary, then the retry role), and remove the letter once the
 * send succeeded. A letter whose send fails stays where it is.
 *
 * At least once: a crash between the send and the removal, or two redrives of one letter at once,
 * sends the message twice; the engine drops the second as a `duplicate` of a step already taken
 * (the dispatched flag). Ids are each store's own, so across several stores a letter is named by
 * its `id` with its `sourceUri`.
 */
import { decodeMessage, type WireMessage } from "../core/message.js";
import { journalMessage } from "../engine/engine.js";
import { messageLogFields } from "../engine/log-fields.js";
import type { SentMessage } from "../engine/roles.js";
import { SystemError, UsageError } from "../errors.js";
import { silentLogger } from "../logger.js";
import type { DeadLetter, DeadLetterStore, OutgoingMessage } from "../ports.js";
import { sendWithFailover } from "./send-message.js";
import type { StarterDeps } from "./start.js";

/** Which dead letters to redrive: one by `id` (with its `sourceUri` when several stores are configured), or `all`. */
export interface DeadLetterRedriveOptions {
  /** The letter's id, as `deadLetters()` and `switchyard dead-letters` show it. */
  readonly id?: number | undefined;
  /**
   * The letter's source (`DeadLetter.sourceUri`). Needed with `id` when the settings have several
   * dead-letter stores (their ids overlap); with `all`, only the letters of that source.
   */
  readonly sourceUri?: string | undefined;
  /** Every dead letter (of `sourceUri`, when given) that the stores list when the redrive starts. */
  readonly all?: boolean | undefined;
}

/** What became of one dead letter. */
export type DeadLetterRedriveResult =
  | {
      readonly ok: true;
      readonly id: number;
      readonly sourceUri: string;
      /** The instance the message belongs to; absent when its body is not a wire message. */
      readonly correlationId?: string | undefined;
      /** Where the message went. */
      readonly sent: SentMessage;
    }
  | {
      /** The letter stays in its store; `error` says why (the send failed, or the removal after it). */
      readonly ok: false;
      readonly id: number;
      readonly sourceUri: string;
      readonly correlationId?: string | undefined;
      readonly error: Error;
    };

/** What redriving needs: the roles to send through and the dead-letter stores. */
export interface RedriveDeps extends Pick<StarterDeps, "roles" | "clock" | "logger"> {
  readonly deadLetters: readonly DeadLetterStore[];
}

/**
 * How many letters `all` takes from each store per redrive. Letters that arrive while it runs (a
 * redriven message that is dead-lettered again) wait for the next one, so a redrive always ends.
 */
export const REDRIVE_ALL_LIMIT = 10_000;

/**
 * Send dead letters again and remove each once its send succeeded; one result per letter, oldest
 * first. Refuses with a one-line {@link UsageError}: neither or both of `id` and `all`
 * (`usage`), an id that is not a whole number (`usage`), an id without `sourceUri` when several
 * stores are configured (`ambiguous_dead_letter`, naming the sources that have such a letter), and
 * a letter no store has (`not_found`).
 *
 * @example
 * ```ts
 * for (const r of await redriveDeadLetters(deps, { all: true })) console.log(r.id, r.ok ? "sent" : r.error.message);
 * ```
 */
export async function redriveDeadLetters(deps: RedriveDeps, options: DeadLetterRedriveOptions): Promise<DeadLetterRedriveResult[]> {
  const all = options.all === true;
  if (all === (options.id !== undefined)) {
    throw new UsageError(
      all
        ? "redrive either one dead letter (an id, --id) or all of them (--all), not both"
        : "name the dead letters to redrive: an id (--id N, with --source URI when several stores are configured) or all (--all)",
      { code: "usage" },
    );
  }
  const picked = all ? await everyLetter(deps.deadLetters, options.sourceUri) : [await oneLetter(deps.deadLetters, options.id as number, options.sourceUri)];
  const results: DeadLetterRedriveResult[] = [];
  for (const [store, letter] of picked) results.push(await redrive(deps, store, letter));
  return results;
}

/** Letter `id` (of `sourceUri`), with the store that holds it. */
async function oneLetter(stores: readonly DeadLetterStore[], id: number, sourceUri: string | undefined): Promise<[DeadLetterStore, DeadLetter]> {
  if (!Number.isSafeInteger(id) || id < 0) throw new UsageError(`a dead letter id is a whole number, got ${id}`, { code: "usage" });
  const found: Array<[DeadLetterStore, DeadLetter]> = [];
  for (const store of stores) {
    const letter = await store.get(id);
    if (letter !== undefined && (sourceUri === undefined || letter.sourceUri === sourceUri)) found.push([store, letter]);
  }
  const [first] = found;
  if (first === undefined) {
    throw new UsageError(`no dead letter ${id}${sourceUri === undefined ? "" : ` from ${sourceUri}`}; list them with switchyard dead-letters`, { code: "not_found" });
  }
  if (sourceUri === undefined && stores.length > 1) {
    // A letter may be listed by two stores (a Kinesis stream's, by the checkpoint role's store too).
    const sources = [...new Set(found.map(([, letter]) => letter.sourceUri))];
    throw new UsageError(
      `dead letter ids are per store and these settings have ${stores.length}; name the source too: ${sources.map((s) => `--source ${s}`).join(" or ")}`,
      { code: "ambiguous_dead_letter" },
    );
  }
  return first;
}

/** Every letter the stores list now (of `sourceUri`, when given), each once, oldest first. */
async function everyLetter(stores: readonly DeadLetterStore[], sourceUri: string | undefined): Promise<Array<[DeadLetterStore, DeadLetter]>> {
  const unique = new Map<string, [DeadLetterStore, DeadLetter]>();
  for (const store of stores) {
    for (const letter of await store.list(REDRIVE_ALL_LIMIT)) {
      if (sourceUri !== undefined && letter.sourceUri !== sourceUri) continue;
      const key = `${letter.sourceUri}\u0000${letter.id}`;
      if (!unique.has(key)) unique.set(key, [store, letter]);
    }
  }
  return [...unique.values()].sort(([, a], [, b]) => a.deadAt - b.deadAt || a.id - b.id);
}

/** Send one letter's body again, journal it when it is a wire message, then remove the letter. */
async function redrive(deps: RedriveDeps, store: DeadLetterStore, letter: DeadLetter): Promise<DeadLetterRedriveResult> {
  const logger = deps.logger ?? silentLogger;
  const message = decoded(letter.body);
  const system = message?.system_context;
  const named = { id: letter.id, sourceUri: letter.sourceUri, ...(system === undefined ? {} : { correlationId: system.correlation_id }) };
  const outgoing: OutgoingMessage = {
    // A body that is no wire message still goes (the worker dead-letters it again, with its
    // reason); the transports need some instance key for it.
    correlationId: system?.correlation_id ?? `dead-letter-${letter.id}`,
    steps: system?.steps ?? 0,
    retries: system?.retries ?? 0,
    body: letter.body,
    delaySeconds: 0,
    durable: true,
  };
  let sent: SentMessage;
  try {
    sent = await sendWithFailover(deps, outgoing, `dead letter ${letter.id} of ${letter.sourceUri}`, message);
  } catch (error) {
    return { ok: false, ...named, error: error as Error };
  }
  if (message !== undefined) {
    await journalMessage({ roles: deps.roles, logger, clock: deps.clock }, message, sent.role, sent.side, { origin: "dead-letter" });
  }
  try {
    if (!(await store.remove(letter.id))) {
      logger.warn(`dead letter ${letter.id} of ${letter.sourceUri} was sent again, but its store no longer had it to remove (another redrive took it?)`, {
        ...(message === undefined ? {} : messageLogFields(message, logger)),
        deadLetterId: letter.id,
      });
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      ...named,
      error: new SystemError(
        `sent again to ${sent.role}.${sent.side}, but not removed (${reason}); it stays, and a later redrive sends it once more (the engine drops the duplicate)`,
        { cause: error },
      ),
    };
  }
  return { ok: true, ...named, sent };
}

/** The wire message a body holds, or undefined when it holds none. */
function decoded(body: string): WireMessage | undefined {
  try {
    return decodeMessage(body);
  } catch {
    return undefined;
  }
}
