/**
 * A small informer: list, then watch from the list's resourceVersion, keeping a cache and calling
 * add/update/delete handlers. Unlike the library's ListWatch (which stops on any error but 410), it
 *  - restarts after any error with exponential backoff,
 *  - has a watchdog: a watch that shows no sign of life for `watchdogMs` is abandoned and replaced
 *    (watches can stall silently behind proxies and NATs),
 *  - relists every `relistMs` so that anything missed is caught up,
 *  - asks the server to close each watch after `watchTimeoutSeconds` (shorter than the watchdog), so
 *    a healthy quiet watch is renewed instead of tripping the watchdog.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../common/logging/index.js';
import { backoffDelay, sleep } from './backoff.js';
import { objectKey, stripManagedFields, type KubernetesObject } from './objects.js';

export { objectKey, stripManagedFields, type KubernetesObject } from './objects.js';

export interface ListResult<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

/** `old` is the cached object an update replaces (undefined for add and delete). */
export type Handler<T> = (obj: T, old?: T) => void;

export interface InformerOptions<T> {
  name: string;
  kubeConfig: KubeConfig;
  /** Watch path, e.g. /apis/batch/v1/jobs or /apis/batch/v1/namespaces/ns/jobs. */
  path: string;
  list: () => Promise<ListResult<T>>;
  labelSelector?: string;
  logger: Logger;
  watchdogMs?: number;
  relistMs?: number;
  watchTimeoutSeconds?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Called on every (re)start, for metrics. */
  onRestart?: (reason: string) => void;
  /**
   * Applied to every listed or watched object before it is cached and handed to the handlers
   * (may modify and return its argument: the object is fresh from the wire). Default:
   * `stripManagedFields`.
   */
  transform?: (obj: T) => T;
}

type End = 'closed' | 'gone' | 'silent' | 'relist' | 'stopped';

export class Informer<T extends KubernetesObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers = {
    add: [] as Handler<T>[],
    update: [] as Handler<T>[],
    delete: [] as Handler<T>[],
  };
  private resourceVersion = '';
  private lastList = 0;
  private abort = new AbortController();
  private running?: Promise<void>;
  private watchGeneration = 0;
  private readonly watch: Watch;
  private readonly o: Required<Omit<InformerOptions<T>, 'labelSelector' | 'onRestart'>> &
    Pick<InformerOptions<T>, 'labelSelector' | 'onRestart'>;
  get name(): string {
    return this.o.name;
  }

  /** True once the first list has filled the cache. */
  synced = false;
  /** Time of the last sign of life (list, watch connect, any watch event including bookmarks). */
  lastActivity = 0;
  /** Last success (a list, a watch event, a watch the server closed normally) and last start(). */
  lastSuccess = 0;
  startedAt = 0;
  restarts = 0;

  constructor(opts: InformerOptions<T>) {
    this.o = {
      watchdogMs: 5 * 60_000,
      relistMs: 10 * 60_000,
      watchTimeoutSeconds: 240,
      backoffBaseMs: 500,
      backoffMaxMs: 30_000,
      ...opts,
      transform: opts.transform ?? stripManagedFields,
    };
    this.watch = new Watch(opts.kubeConfig);
  }

  on(event: 'add' | 'update' | 'delete', handler: Handler<T>): void {
    this.handlers[event].push(handler);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  start(): void {
    if (this.running) return;
    this.abort = new AbortController();
    this.startedAt = Date.now();
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.running = undefined;
  }

  /** How long (ms) it has gone without a successful list or watch while running; 0 when stopped. */
  stalledFor(now = Date.now()): number {
    return this.running ? Math.max(0, now - Math.max(this.lastSuccess, this.startedAt)) : 0;
  }

  /** Waits until the first list completed (or the signal fires). */
  async waitForSync(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.synced && Date.now() < deadline && !this.abort.signal.aborted) await sleep(20);
    return this.synced;
  }

  private emit(event: 'add' | 'update' | 'delete', obj: T, old?: T) {
    for (const h of this.handlers[event]) {
      try {
        h(obj, old);
      } catch (err) {
        this.o.logger.error({ err, informer: this.o.name }, 'informer handler threw');
      }
    }
  }

  private upsert(raw: T) {
    const obj = this.o.transform(raw);
    const key = objectKey(obj);
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    if (!old) this.emit('add', obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj, old);
  }

  private async relist() {
    const res = await this.o.list();
    const seen = new Set<string>();
    for (const item of res.items) {
      seen.add(objectKey(item));
      this.upsert(item);
    }
    for (const [key, obj] of this.cache) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.emit('delete', obj);
      }
    }
    this.resourceVersion = res.metadata?.resourceVersion ?? '';
    this.lastList = Date.now();
    this.lastActivity = Date.now();
    this.lastSuccess = Date.now();
    this.synced = true;
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList || Date.now() - this.lastList >= this.o.relistMs) {
          await this.relist();
          needList = false;
        }
        const end = await this.watchOnce(signal);
        failures = 0;
        if (end === 'stopped') break;
        if (end !== 'closed') {
          needList = true;
          this.restarts++;
          this.o.onRestart?.(end);
          this.o.logger.info({ informer: this.o.name, reason: end }, 'informer relists');
        }
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        needList = true;
        this.restarts++;
        this.o.onRestart?.('error');
        const delay = backoffDelay(failures, this.o.backoffBaseMs, this.o.backoffMaxMs, 0.2);
        this.o.logger.warn(
          {
            informer: this.o.name,
            err: (err as Error)?.message ?? String(err),
            retryInMs: Math.round(delay),
          },
          'informer failed; restarting',
        );
        await sleep(delay, signal);
      }
    }
  }

  /** One watch; resolves when it ends and says why. Throws on errors. */
  private watchOnce(signal: AbortSignal): Promise<End> {
    const gen = ++this.watchGeneration;
    return new Promise<End>((resolve, reject) => {
      let controller: AbortController | undefined;
      let settled = false;
      const finish = (end: End | Error) => {
        if (settled) return;
        settled = true;
        clearInterval(tick);
        signal.removeEventListener('abort', onAbort);
        controller?.abort();
        if (end instanceof Error) reject(end);
        else resolve(end);
      };
      const onAbort = () => finish('stopped');
      signal.addEventListener('abort', onAbort, { once: true });
      this.lastActivity = Date.now();
      const check = Math.max(10, Math.min(this.o.watchdogMs, this.o.relistMs) / 4);
      const tick = setInterval(() => {
        if (Date.now() - this.lastActivity > this.o.watchdogMs) finish('silent');
        else if (Date.now() - this.lastList >= this.o.relistMs) finish('relist');
      }, check);
      tick.unref?.();
      const query: Record<string, string | number | boolean> = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.o.watchTimeoutSeconds,
      };
      if (this.o.labelSelector) query.labelSelector = this.o.labelSelector;
      this.watch
        .watch(
          this.o.path,
          query,
          (type: string, obj: T & { code?: number; message?: string }) => {
            if (settled || gen !== this.watchGeneration) return;
            this.lastActivity = Date.now();
            if (type !== 'ERROR') this.lastSuccess = this.lastActivity;
            switch (type) {
              case 'ADDED':
              case 'MODIFIED':
                this.upsert(obj);
                break;
              case 'DELETED': {
                const key = objectKey(obj);
                const old = this.cache.get(key);
                this.cache.delete(key);
                if (old) this.emit('delete', obj);
                break;
              }
              case 'BOOKMARK':
                break;
              case 'ERROR':
                if (obj.code === 410) return finish('gone');
                return finish(new Error(`watch error ${obj.code}: ${obj.message}`));
            }
            if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
          },
          (err: unknown) => {
            if (gen !== this.watchGeneration && settled) return;
            if (!err) this.lastSuccess = Date.now();
            if (!err) return finish('closed');
            const code =
              (err as { statusCode?: number; code?: number }).statusCode ?? (err as { code?: number }).code;
            if (code === 410) return finish('gone');
            if ((err as Error).name === 'AbortError') return finish(signal.aborted ? 'stopped' : 'closed');
            finish(err instanceof Error ? err : new Error(String(err)));
          },
        )
        .then((c) => {
          controller = c;
          if (settled) c.abort();
        })
        .catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
    });
  }
}
