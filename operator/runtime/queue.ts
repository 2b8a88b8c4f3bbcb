/**
 * A de-duplicating, rate-limited work queue in the manner of client-go's workqueue:
 * - a key waiting in the queue is held once however often it is added (dirty set);
 * - a key being processed is never handed to a second worker; if it is added meanwhile it is
 *   queued again when the first worker calls done();
 * - addRateLimited() delays by a per-key exponential backoff (forget() resets it), bounded below by
 *   an overall token bucket (qps, burst) so a storm of failures cannot hammer the API server.
 */
import { backoffDelay } from './backoff.js';

/** Workers taking keys from the queue by default (WORKERS). Measured in bench/operator-scale.ts. */
export const DEFAULT_WORKERS = 8;

export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  qps?: number;
  burst?: number;
  now?: () => number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private waiters: Array<(key: string | undefined) => void> = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly qps: number;
  private readonly burst: number;
  private tokens: number;
  private lastRefill: number;
  private readonly now: () => number;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.qps = opts.qps ?? 10;
    this.burst = opts.burst ?? 100;
    this.tokens = this.burst;
    this.now = opts.now ?? Date.now;
    this.lastRefill = this.now();
  }

  /** Adds a key now. Duplicates collapse; a key in processing is re-queued after done(). */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else this.queue.push(key);
  }

  /** Adds a key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = this.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.timers.set(key, { at, timer });
  }

  /** The delay addRateLimited would use now, and records the failure. */
  nextDelay(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const perItem = backoffDelay(n, this.baseDelayMs, this.maxDelayMs);
    return Math.max(perItem, this.bucketDelay());
  }

  addRateLimited(key: string): void {
    this.addAfter(key, this.nextDelay(key));
  }

  /** Stops tracking failures of a key (call after a successful reconcile). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Next key to process, or undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  /** Keys waiting (not counting those being processed or delayed). */
  len(): number {
    return this.queue.length;
  }

  pendingDelayed(): number {
    return this.timers.size;
  }

  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(undefined);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  private bucketDelay(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.qps);
    this.lastRefill = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }
}
