/**
 * Paging through the instance listing (newest started first, ties by id): the cursor a page ends
 * with, as text a user can pass back (`switchyard list --after <cursor>`), and one page with the
 * cursor of the next.
 */
import { UsageError } from "../errors.js";
import type { InstanceRecord, JournalPort, ListOptions, ListPosition } from "../ports.js";

/** Instances per page when no limit is given (what `switchyard list` shows). */
export const DEFAULT_PAGE_SIZE = 50;

/** What {@link listPage} takes: the filters of {@link ListOptions}, a page size and a cursor. */
export interface ListPageOptions extends Omit<ListOptions, "after" | "limit"> {
  /** At most this many instances (default {@link DEFAULT_PAGE_SIZE}). */
  readonly limit?: number | undefined;
  /** Continue after this cursor: the `next` of the previous page, or {@link listCursor} of an instance. */
  readonly after?: string | undefined;
}

/** One page of the listing. */
export interface ListPage {
  readonly instances: InstanceRecord[];
  /** The cursor of the next page; undefined when this page is the last. */
  readonly next: string | undefined;
}

/**
 * The cursor that continues the listing after `position` (an instance, or its start time and id):
 * `<started-at ms>~<correlation id>`, which needs no quoting in a shell. Filters are not part of
 * it: pass the same ones with each page.
 *
 * @example
 * ```ts
 * const rest = await sy.list({ after: parseListCursor(listCursor(lastSeen)) });
 * ```
 */
export function listCursor(position: ListPosition): string {
  return `${position.startedAt}~${position.correlationId}`;
}

/** The position a cursor of {@link listCursor} names; a {@link UsageError} for anything else. */
export function parseListCursor(cursor: string): ListPosition {
  const match = /^(\d{1,16})~(.+)$/s.exec(cursor);
  if (match === null) {
    throw new UsageError(
      `"${cursor}" is not a list cursor (<started-at ms>~<correlation id>, e.g. 1765042554123~order-42); pass the cursor the previous page ended with`,
      { code: "invalid_cursor" },
    );
  }
  return { startedAt: Number(match[1]), correlationId: match[2] as string };
}

/** One page of `journal`'s listing: one more instance is read than shown, to know whether a next page exists. */
export async function listPage(journal: JournalPort, options: ListPageOptions = {}): Promise<ListPage> {
  const limit = options.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`the page size (limit) must be a positive integer, got ${limit}`);
  const { after, ...filters } = options;
  const rows = await journal.list({ ...filters, after: after === undefined ? undefined : parseListCursor(after), limit: limit + 1 });
  const instances = rows.slice(0, limit);
  const last = instances[instances.length - 1];
  return { instances, next: rows.length > limit && last !== undefined ? listCursor(last) : undefined };
}
