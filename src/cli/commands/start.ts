import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import type { StartItemResult } from "../../client/start.js";
import { type StartItem, startItemOf, startResultView } from "../../client/start-input.js";
import type { Switchyard } from "../../client/switchyard.js";
import { SwitchyardError, UsageError } from "../../errors.js";
import { definitionsOption, examples, parseContext, positiveInt, printJson, settingsOption, withSwitchyard } from "../common.js";
import { Terminal } from "../terminal.js";

/**
 * Items a bulk start reads and starts at a time (`--from`, `--count`): one `startMany` each, so a
 * file of any length is started in bounded memory, with one batch send to the stream per batch.
 */
export const START_BATCH = 500;

interface StartFlags {
  definitions: string;
  settings?: string;
  context?: string;
  correlationId?: string;
  delay?: string;
  json?: boolean;
  from?: string;
  count?: number;
}

/** `switchyard start [machine]`: start one instance, N of one machine (`--count`), or one per line of a file (`--from`). */
export function startCommand(program: Command): void {
  const start = program
    .command("start")
    .description("start an instance of a machine (a worker drives it) and print its correlation id; --count and --from start many")
    .argument("[machine]", "machine name (not with --from, whose lines name theirs)")
    .addOption(definitionsOption())
    .addOption(settingsOption())
    .option("-c, --context <json>", "initial user context, a JSON object")
    .option("--correlation-id <id>", "your own id (1-128 of A-Za-z0-9._:-)")
    .option("--delay <seconds>", "delay before the first step, and the default delay between steps")
    .option("--count <n>", "start this many instances of <machine>, each with --context", positiveInt("--count"))
    .option("--from <file>", 'start one instance per line of a JSON Lines file (- reads stdin): {"machine": …, "context": {…}, "correlation_id": …}')
    .option("--json", "print {correlation_id, role, side} as JSON; with --count or --from, one JSON object per item and line")
    .action(async (machine: string | undefined, flags: StartFlags) => {
      const context = parseContext(flags.context);
      const delay = flags.delay === undefined ? undefined : Number(flags.delay);
      if (flags.from !== undefined || flags.count !== undefined) {
        await startInBulk(machine, flags, context, delay);
        return;
      }
      if (machine === undefined) {
        throw new UsageError('name the machine to start, e.g. switchyard start order -d fsm.yaml; or give --from <file> with one {"machine": …} per line');
      }
      await withSwitchyard(flags, async (sy) => {
        const started = await sy.start(machine, { context, correlationId: flags.correlationId, additionalDelaySeconds: delay });
        if (flags.json) printJson({ correlation_id: started.correlationId, role: started.sent.role, side: started.sent.side });
        else process.stdout.write(`${started.correlationId}\n`);
      });
    });
  examples(start, [
    "start order -d fsm.yaml --context '{\"orderId\": 42}'",
    "start order -d fsm.yaml --count 100 --context '{\"source\": \"load-test\"}'",
    "start -d fsm.yaml --from instances.jsonl",
    "start -d fsm.yaml --from - --json < instances.jsonl > results.jsonl",
  ]);
}

/** One item of a bulk start: what to start, or why its line could not be read; `label` names it in messages. */
interface BulkEntry {
  readonly label: string;
  /** The JSON key and value that number the item in `--json` output: `line` or `item`. */
  readonly position: { readonly line: number } | { readonly item: number };
  readonly start?: StartItem;
  readonly error?: Error;
}

/** `--count` and `--from`: start in batches, print each item's result as it comes, and a summary on stderr. */
async function startInBulk(machine: string | undefined, flags: StartFlags, context: Record<string, unknown> | undefined, delay: number | undefined): Promise<void> {
  if (flags.from !== undefined) {
    if (machine !== undefined) throw new UsageError(`give either <machine> or --from, not both: each line of --from names its machine, e.g. {"machine": "${machine}"}`);
    if (flags.count !== undefined) throw new UsageError("--count starts N instances of <machine> and --from one per line of a file: give one of them");
    if (flags.correlationId !== undefined) throw new UsageError('--correlation-id names one instance; with --from, give each line its own "correlation_id"');
    if (context !== undefined) throw new UsageError('--context goes with <machine>; with --from, give each line its own "context"');
  } else {
    if (machine === undefined) throw new UsageError("--count starts instances of one machine: name it, e.g. switchyard start order --count 10 -d fsm.yaml");
    if (flags.correlationId !== undefined) {
      throw new UsageError('--correlation-id names one instance, so it does not go with --count; to choose the ids, use --from with a "correlation_id" per line');
    }
  }
  // The file is opened before the backends, so a wrong path is refused before anything starts.
  const file = flags.from === undefined || flags.from === "-" ? undefined : await openInput(flags.from);
  // On a terminal, one progress line on stderr (the log lines scroll above it); elsewhere the summary alone.
  const terminal = new Terminal();
  try {
    await withSwitchyard(
      flags,
      async (sy) => {
        const entries =
          flags.from === undefined
            ? countEntries(sy, machine as string, flags.count as number, context, delay)
            : lineEntries(file === undefined ? process.stdin : file.createReadStream(), flags.from as string, delay);
        const tally = await startEntries(sy, entries, flags.json === true, terminal);
        if (tally.failed > 0) process.exitCode = 1;
      },
      { logger: terminal.logger() },
    );
  } finally {
    await file?.close();
  }
}

async function openInput(path: string): Promise<FileHandle> {
  try {
    return await open(path, "r");
  } catch (error) {
    throw new UsageError(`cannot read --from ${path}: ${(error as Error).message}; give a JSON Lines file, or - for standard input`);
  }
}

/** `--count N`: N identical items; an unknown machine is refused once, before any is started. */
function* countEntries(sy: Switchyard, machine: string, count: number, context: Record<string, unknown> | undefined, delay: number | undefined): Generator<BulkEntry> {
  sy.definitions.get(machine);
  for (let item = 1; item <= count; item++) {
    yield { label: `instance ${item}`, position: { item }, start: { machineName: machine, context, additionalDelaySeconds: delay } };
  }
}

/**
 * `--from`: one item per non-blank line, read as the lines come (readline pauses the stream while
 * a batch starts). A line that is not a start item fails alone, naming its line number, like an
 * item the start itself refuses: the others start all the same.
 */
async function* lineEntries(input: NodeJS.ReadableStream, name: string, delay: number | undefined): AsyncGenerator<BulkEntry> {
  let line = 0;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })[Symbol.asyncIterator]();
  try {
    for (;;) {
      let read: IteratorResult<string>;
      try {
        read = await lines.next();
      } catch (error) {
        throw new UsageError(`cannot read --from ${name === "-" ? "standard input" : name} after line ${line}: ${(error as Error).message}`);
      }
      if (read.done === true) return;
      const raw = read.value;
      line++;
      const text = line === 1 ? raw.replace(/^\uFEFF/, "") : raw;
      if (text.trim() === "") continue;
      const entry = { label: `line ${line}`, position: { line } };
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        yield { ...entry, error: new UsageError(`not valid JSON (${(error as Error).message}); each line is one object {"machine": …, "context": {…}, "correlation_id": …}`) };
        continue;
      }
      try {
        yield { ...entry, start: { ...startItemOf(value, "snake", { onlyKnownKeys: true }), additionalDelaySeconds: delay } };
      } catch (error) {
        if (!(error instanceof SwitchyardError)) throw error;
        yield { ...entry, error };
      }
    }
  } finally {
    // Stopped early (an error while starting): let go of the input.
    await lines.return?.();
  }
}

/** Started and failed items so far. */
interface Tally {
  started: number;
  failed: number;
}

/** Start the entries {@link START_BATCH} at a time; print each result in input order. */
async function startEntries(sy: Switchyard, entries: Iterable<BulkEntry> | AsyncIterable<BulkEntry>, json: boolean, progress: Terminal): Promise<Tally> {
  const tally: Tally = { started: 0, failed: 0 };
  let batch: BulkEntry[] = [];
  let last: BulkEntry | undefined;
  const flush = async () => {
    const starts = batch.flatMap((entry) => (entry.start === undefined ? [] : [entry.start]));
    const results = starts.length === 0 ? [] : await sy.startMany(starts);
    progress.clear();
    let next = 0;
    for (const entry of batch) {
      const result: StartItemResult = entry.start === undefined ? { ok: false, correlationId: "", error: entry.error as Error } : (results[next++] as StartItemResult);
      printResult(entry, result, json);
      if (result.ok) tally.started++;
      else tally.failed++;
    }
    batch = [];
    progress.progress(`started ${tally.started}${tally.failed > 0 ? `, ${tally.failed} failed` : ""} so far (${last?.label ?? ""})…`);
  };
  try {
    for await (const entry of entries) {
      last = entry;
      batch.push(entry);
      if (batch.length === START_BATCH) await flush();
    }
    if (batch.length > 0) await flush();
  } catch (error) {
    progress.clear();
    if (tally.started + tally.failed > 0) {
      process.stderr.write(`stopped after ${tally.started + tally.failed} items: started ${tally.started}; ${tally.failed} failed; the rest were not started\n`);
    }
    throw error;
  }
  progress.clear();
  const total = tally.started + tally.failed;
  process.stderr.write(`started ${tally.started} of ${total}${tally.failed > 0 ? `; ${tally.failed} failed` : ""}\n`);
  return tally;
}

/** Stdout: the id of a started item, or with --json one object per item; stderr: why an item failed. */
function printResult(entry: BulkEntry, result: StartItemResult, json: boolean): void {
  if (json) {
    const extra = result.ok ? { role: result.sent.role, side: result.sent.side } : { code: result.error instanceof SwitchyardError ? result.error.code : "error" };
    process.stdout.write(`${JSON.stringify({ ...entry.position, ...startResultView(result, "snake"), ...extra })}\n`);
    return;
  }
  if (result.ok) process.stdout.write(`${result.correlationId}\n`);
  else process.stderr.write(`${entry.label}: ${result.error.message}\n`);
}
