/**
 * Settings → live role bindings: opens each distinct backend once, takes the ports each role needs
 * from it, wraps them in chaos where configured, and collects the message sources a worker polls.
 */
import type { FusedBinding, RoleBindings } from "../engine/roles.js";
import { SettingsError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ApiCallObserver, Clock, ConsumerStatePort, DeadLetterStore, MessageSource, RoleName, Side, Sided } from "../ports.js";
import type { Backend } from "../backends/backend.js";
import { openBackend } from "./backends.js";
import { withChaos } from "./chaos.js";
import { keysNaming, type OptionalRole, type RoleBinding, type Settings } from "./settings.js";

/** Everything the settings opened. */
export interface OpenedRoles {
  readonly roles: RoleBindings;
  /** The consumer sides of the stream and retry backends, without chaos. */
  readonly sources: readonly MessageSource[];
  /** The dead-letter stores of the stream and retry backends (each store once). */
  readonly deadLetters: readonly DeadLetterStore[];
  /** Closes every backend that was opened. */
  close(): Promise<void>;
}

/** Open the backends that `settings` name. */
export async function openRoles(
  settings: Settings,
  options: { clock: Clock; random: () => number; logger: Logger; apiCalls?: ApiCallObserver | undefined },
): Promise<OpenedRoles> {
  const opened = new Map<string, Promise<Backend>>();
  // A transport whose consumers keep no state of their own (Kinesis) keeps it in the checkpoint
  // role's primary store; that backend is closed last, after the consumers released their leases.
  const stateUri = settings.roles.checkpoint?.primary;
  let consumerState: Promise<ConsumerStatePort> | undefined;
  const stateOf = async (uri: string): Promise<ConsumerStatePort> => {
    const port = (await backend(uri)).consumerState?.();
    if (port === undefined) {
      throw new SettingsError(
        `checkpoint.primary "${uri}" cannot keep the shard leases and dead letters of Kinesis consumers; use a dynamodb ARN, a sqlite: or a postgres:// URI for checkpoint`,
      );
    }
    return port;
  };
  const context = {
    clock: options.clock,
    baseDir: settings.baseDir,
    endpoints: settings.endpoints,
    logger: options.logger,
    apiCalls: options.apiCalls,
    consumerState: async () => {
      if (stateUri === undefined) return undefined;
      consumerState ??= stateOf(stateUri);
      return consumerState;
    },
  };
  const backend = (uri: string) => {
    let promise = opened.get(uri);
    if (promise === undefined) {
      promise = openBackend(uri, context, keysNaming(settings, uri));
      opened.set(uri, promise);
    }
    return promise;
  };
  const close = async () => {
    const closeAll = async (entries: Array<[string, Promise<Backend>]>) => {
      const results = await Promise.allSettled(entries.map(([, promise]) => promise));
      await Promise.all(results.map((r) => (r.status === "fulfilled" ? r.value.close() : undefined)));
    };
    await closeAll([...opened.entries()].filter(([uri]) => uri !== stateUri));
    await closeAll([...opened.entries()].filter(([uri]) => uri === stateUri));
  };

  try {
    const sources: MessageSource[] = [];
    const deadLetters = new Set<DeadLetterStore>();
    const consumer = <T extends MessageSource>(b: Backend, port: T | undefined): T | undefined => {
      if (port !== undefined) sources.push(port);
      if (b.deadLetters !== undefined) deadLetters.add(b.deadLetters);
      return port;
    };
    const chaos = <T extends object>(port: T, role: RoleName, side: Side, uri: string): T =>
      withChaos(port, settings.chaos.get(`${role}.${side}`) ?? 0, `${role}.${side} (${uri})`, options.random);

    const optional = async <T extends object>(role: OptionalRole, take: (b: Backend, side: Side) => T | undefined) =>
      settings.roles[role] === undefined ? undefined : sided(role, take);
    const sided = async <T extends object>(
      role: RoleName,
      take: (b: Backend, side: Side) => T | undefined,
    ): Promise<Sided<T>> => {
      const binding = settings.roles[role] as RoleBinding;
      const one = async (uri: string, side: Side): Promise<T> => {
        const port = take(await backend(uri), side);
        if (port === undefined) {
          throw new SettingsError(`backend "${uri}" cannot serve the ${role} role; choose another backend for ${role}.${side}`);
        }
        return chaos(port, role, side, uri);
      };
      return {
        primary: await one(binding.primary, "primary"),
        secondary: binding.secondary === undefined ? undefined : await one(binding.secondary, "secondary"),
      };
    };

    const roles: RoleBindings = {
      stream: await sided("stream", (b, side) => consumer(b, b.stream?.(side))),
      retry: await sided("retry", (b, side) => consumer(b, b.retry?.(side))),
      cache: await sided("cache", (b) => b.cache?.()),
      checkpoint: await optional("checkpoint", (b) => b.checkpoint?.()),
      metrics: await optional("metrics", (b) => b.metrics?.()),
      environment: await optional("environment", (b) => b.environment?.()),
      journal: settings.journal === undefined ? undefined : await journalOf(await backend(settings.journal), settings.journal),
    };
    return { roles: { ...roles, fused: await fusedPath(settings, backend, roles) }, sources, deadLetters: [...deadLetters], close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The fused transition path, where the settings allow it and none of the stream, retry and cache
 * primaries has chaos (a failure must hit each role's port alone, as SPEC §4 has it):
 *
 * - where those primaries are one backend that offers it (`transitions`), over that backend alone;
 *   it also covers the checkpoint (without chaos) and the journal where they are that backend too,
 *   and the engine writes them over their ports otherwise;
 * - else where the cache's primary fuses its own writes around the other roles' ports
 *   (`transitionsOver`: DynamoDB); it covers the checkpoint (without chaos) and the journal
 *   wherever they are.
 */
async function fusedPath(settings: Settings, backend: (uri: string) => Promise<Backend>, roles: RoleBindings): Promise<FusedBinding | undefined> {
  if (!settings.fusedTransitions) return undefined;
  const chaos = (role: RoleName) => (settings.chaos.get(`${role}.primary`) ?? 0) > 0;
  if (chaos("stream") || chaos("retry") || chaos("cache")) return undefined;
  const uri = settings.roles.stream.primary;
  if (settings.roles.retry.primary === uri && settings.roles.cache.primary === uri) {
    const port = (await backend(uri)).transitions?.();
    if (port !== undefined) {
      return { port, checkpoint: settings.roles.checkpoint?.primary === uri && !chaos("checkpoint"), journal: settings.journal === uri };
    }
  }
  const checkpoint = roles.checkpoint === undefined || chaos("checkpoint") ? undefined : roles.checkpoint.primary;
  const port = (await backend(settings.roles.cache.primary)).transitionsOver?.({
    stream: roles.stream.primary,
    retry: roles.retry.primary,
    checkpoint,
    journal: roles.journal,
  });
  if (port === undefined) return undefined;
  return { port, checkpoint: checkpoint !== undefined, journal: roles.journal !== undefined };
}

async function journalOf(backend: Backend, uri: string) {
  const journal = backend.journal?.();
  if (journal === undefined) {
    throw new SettingsError(`backend "${uri}" cannot keep the instance journal; set journal to a sqlite:, postgres:// or redis:// URI or a DynamoDB table ARN, or false`);
  }
  return journal;
}
