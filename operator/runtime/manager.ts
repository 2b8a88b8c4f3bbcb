/**
 * A small controller manager, in the shape of controller-runtime's: informers fill caches and map
 * their events to keys; while this replica leads (a Lease, or always when election is off), a
 * rate-limited work queue hands keys to workers that call the reconciler; every key is requeued at a
 * periodic resync. It knows nothing of what it reconciles: a reconciler is a function of a key.
 *
 *   informers ──events→ enqueue(key) ──(leading only)──→ WorkQueue ──→ workers ──→ reconcile(key)
 *                                          ↑  resync: every key         │ error: addRateLimited
 *                                          └──── requeueAfterMs ────────┘ success: forget
 *
 * healthy() fails when an informer has had no successful list or watch for `informerStallMs`, or a
 * reconcile has been in flight for longer than `workerStallMs`: /healthz then answers 503.
 */
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '../../common/logging/index.js';
import type { Informer, KubernetesObject } from './informer.js';
import { LeaderElector } from './leader.js';
import { DEFAULT_WORKERS, WorkQueue, type WorkQueueOptions } from './queue.js';

export interface LeaderElectionSettings {
  namespace: string;
  name: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** false simulates a crash in tests: the Lease is left to expire. */
  releaseOnStop?: boolean;
}

/** What a reconcile asks of the manager besides success or failure (a thrown error is retried). */
export interface ReconcileResult {
  /** Reconcile this key again after this delay even without an event. */
  requeueAfterMs?: number;
}

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  identity: string;
  /** Started, awaited for their first list, and watched by healthy(). */
  informers: ReadonlyArray<Informer<KubernetesObject>>;
  /** Every key to reconcile: on becoming leader and at each resync. */
  keys: () => string[];
  reconcile: (key: string) => Promise<ReconcileResult | void>;
  /** false = always lead (single replica, tests). */
  leaderElection: LeaderElectionSettings | false;
  workers?: number;
  resyncMs?: number;
  queue?: WorkQueueOptions;
  metrics: { reconciles: Counter<'result'>; reconcileDuration: Histogram<'result'> };
  /** Liveness bounds (defaults: 10 minutes each). */
  informerStallMs?: number;
  workerStallMs?: number;
  /** Called once leading, after the queue exists and before the workers start. */
  onStartedLeading?: () => void;
  /** Called when leading stops; the manager waits for what it returns before it is drained. */
  onStoppedLeading?: () => Promise<void> | void;
  /** Called when the Lease was lost while running (not on stop). */
  onLostLeadership?: () => void;
}

export interface Check {
  ok: boolean;
  detail?: string;
}

export const DEFAULT_STALL_MS = 10 * 60_000;

export class Manager {
  private readonly elector?: LeaderElector;
  private queue?: WorkQueue;
  private workers: Promise<void>[] = [];
  private resyncTimer?: NodeJS.Timeout;
  private leading = false;
  private stopped = false;
  private draining?: Promise<void>;
  /** Keys being reconciled, with when their reconcile started. */
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly o: ManagerOptions) {
    const le = o.leaderElection;
    if (le) {
      this.elector = new LeaderElector({
        api: o.kubeConfig.makeApiClient(CoordinationV1Api),
        namespace: le.namespace,
        name: le.name,
        identity: o.identity,
        ...(le.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: le.leaseDurationSeconds } : {}),
        ...(le.renewDeadlineMs !== undefined ? { renewDeadlineMs: le.renewDeadlineMs } : {}),
        ...(le.retryPeriodMs !== undefined ? { retryPeriodMs: le.retryPeriodMs } : {}),
        ...(le.releaseOnStop !== undefined ? { releaseOnStop: le.releaseOnStop } : {}),
        logger: o.logger,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => {
          void this.stopLeading();
          if (!this.stopped) o.onLostLeadership?.();
        },
      });
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Keys waiting in the queue (0 while standing by). */
  depth(): number {
    return this.queue?.len() ?? 0;
  }

  /** Queues a key for reconciling; ignored while not leading (the new leader lists every key). */
  enqueue(key: string): void {
    if (this.leading) this.queue?.add(key);
  }

  enqueueAfter(key: string, delayMs: number): void {
    if (this.leading) this.queue?.addAfter(key, delayMs);
  }

  /** Starts the informers, waits for their first list, then campaigns (or leads at once). */
  async start(): Promise<void> {
    for (const i of this.o.informers) i.start();
    let synced = true;
    for (const i of this.o.informers) synced = (await i.waitForSync()) && synced;
    if (!synced) this.o.logger.warn('informers not synced yet; continuing');
    if (this.elector) this.elector.start();
    else this.startLeading();
  }

  /** Graceful: stop campaigning (release the Lease), drain workers, stop informers. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.elector) await this.elector.stop();
    await this.stopLeading();
    await Promise.all(this.o.informers.map((i) => i.stop()));
  }

  /** Liveness: every informer lists or watches successfully, and no reconcile hangs. */
  healthy(now = Date.now()): Check {
    const problems: string[] = [];
    const informerBound = this.o.informerStallMs ?? DEFAULT_STALL_MS;
    for (const i of this.o.informers) {
      const stalled = i.stalledFor(now);
      if (stalled > informerBound)
        problems.push(
          `informer ${i.name} stalled: no successful list or watch for ${Math.round(stalled / 1000)} s`,
        );
    }
    const workerBound = this.o.workerStallMs ?? DEFAULT_STALL_MS;
    for (const [key, since] of this.inFlight)
      if (now - since > workerBound)
        problems.push(
          `worker stalled: the reconcile of ${key} has run for ${Math.round((now - since) / 1000)} s`,
        );
    if (problems.length) return { ok: false, detail: problems.join('; ') };
    return {
      ok: true,
      detail: `informer restarts: ${this.o.informers.map((i) => `${i.name} ${i.restarts}`).join(', ')}`,
    };
  }

  /** Readiness: caches synced (a standby replica is ready too: it is warm and campaigning). */
  ready(): Check {
    const ok = this.o.informers.every((i) => i.synced);
    return {
      ok,
      detail: `${ok ? 'caches synced' : 'caches syncing'}; ${this.leading ? 'leader' : 'standby'}`,
    };
  }

  private startLeading() {
    if (this.leading || this.stopped) return;
    this.leading = true;
    const queue = new WorkQueue(this.o.queue ?? {});
    this.queue = queue;
    for (const key of this.o.keys()) queue.add(key);
    this.o.onStartedLeading?.();
    const n = this.o.workers ?? DEFAULT_WORKERS;
    this.workers = Array.from({ length: n }, () => this.work(queue));
    this.resyncTimer = setInterval(() => {
      for (const key of this.o.keys()) queue.add(key);
    }, this.o.resyncMs ?? 300_000);
    this.resyncTimer.unref?.();
  }

  /** Stops taking work; resolves when in-flight reconciles finished (same promise for every caller). */
  private stopLeading(): Promise<void> {
    if (!this.leading) return this.draining ?? Promise.resolve();
    this.leading = false;
    clearInterval(this.resyncTimer);
    this.queue?.shutDown();
    const workers = this.workers;
    this.workers = [];
    this.draining = Promise.all([...workers, this.o.onStoppedLeading?.()]).then(() => undefined);
    return this.draining;
  }

  private async work(queue: WorkQueue) {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = process.hrtime.bigint();
      this.inFlight.set(key, Date.now());
      let result = 'success';
      try {
        const r = await this.o.reconcile(key);
        queue.forget(key);
        if (r?.requeueAfterMs) queue.addAfter(key, r.requeueAfterMs);
      } catch (err) {
        result = 'error';
        const e = err as { code?: number; body?: unknown; message?: string };
        this.o.logger.warn(
          {
            key,
            err: e.message ?? String(err),
            code: e.code,
            body: e.body,
            requeues: queue.numRequeues(key),
          },
          'reconcile failed',
        );
        queue.addRateLimited(key);
      } finally {
        this.inFlight.delete(key);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.o.metrics.reconciles.inc({ result });
        this.o.metrics.reconcileDuration.observe({ result }, seconds);
        queue.done(key);
      }
    }
  }
}
