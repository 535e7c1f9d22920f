/**
 * A bounded set of ids, forgetting the oldest first: what an engine remembers about instances it
 * has recently seen (a cache of facts that stay true, so forgetting costs only a repeated check).
 */
export class RecentIds {
  readonly #ids = new Set<string>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  add(id: string): void {
    if (this.#ids.has(id)) return;
    if (this.#ids.size >= this.#capacity) {
      const oldest = this.#ids.values().next();
      if (oldest.done !== true) this.#ids.delete(oldest.value);
    }
    this.#ids.add(id);
  }
}
