/**
 * A small bounded cache: entries expire after their time to live and, past `max` entries, the
 * least recently used goes first (a Map keeps insertion order; a hit moves its entry to the end).
 * In-process only: what each API replica caches, it invalidates itself on its own writes; what
 * other replicas change reaches it through the time to live (see the callers for their bounds).
 */
export interface TtlCacheOptions {
  /** Entries kept at most. */
  max: number;
  /** Default lifetime of an entry in milliseconds. */
  ttlMs: number;
  now?: () => number;
}

export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number }>();
  private readonly now: () => number;

  constructor(private readonly o: TtlCacheOptions) {
    if (!(o.max >= 1)) throw new RangeError('TtlCache: max must be at least 1');
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (e.expires <= this.now()) return undefined;
    this.entries.set(key, e);
    return e.value;
  }

  /** Stores `value` for `ttlMs` (default: the cache's), evicting the least recently used beyond `max`. */
  set(key: K, value: V, ttlMs = this.o.ttlMs): void {
    this.entries.delete(key);
    if (ttlMs <= 0) return;
    this.entries.set(key, { value, expires: this.now() + ttlMs });
    while (this.entries.size > this.o.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
