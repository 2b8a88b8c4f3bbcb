/**
 * The transcoders' progress reports (common/video/progress.ts) folded into the Videos' status,
 * coalesced: at most one status write per Video every `intervalMs`, never one per message.
 *
 *   progress exchange ──▶ ProgressConsumer (own exclusive queue, no acks: transient reports)
 *        ──▶ ProgressTracker.record(): the latest report per rendition, in memory
 *        ──▶ wake(uid) at most once per interval ──▶ the work queue (dropped unless leading)
 *        ──▶ the Video's reconcile pass: due() hands the latest reports to decide(), which puts them
 *            into status.renditions[].progress; the pass's one status write carries them (merge
 *            patch through /status with the resourceVersion, retried on 409 like every status write)
 *
 * The reconciler stays the only writer of the status: a progress write can neither lose one of its
 * updates nor be lost by one. A pass for another reason (a Job finished) between two progress
 * writes carries the stored progress over unchanged.
 */
import type { Channel } from 'amqplib';
import { AmqpLifecycle } from '../../common/amqp/lifecycle.js';
import type { Logger } from '../../common/logging/index.js';
import {
  progressMessageSchema,
  type ProgressMessage,
  type RenditionName,
  type RenditionProgress,
} from '../../common/video/index.js';
import { k8sTime } from './status.js';

/** What a report becomes in the status: the ETA turned into a time by the operator's own clock. */
export function toRenditionProgress(msg: ProgressMessage, receivedAt: Date): RenditionProgress {
  return {
    percent: Math.round(msg.percent * 10) / 10,
    ...(msg.speed !== undefined ? { speed: Math.round(msg.speed * 100) / 100 } : {}),
    ...(msg.etaSeconds !== undefined
      ? { estimatedCompletionTime: k8sTime(new Date(receivedAt.getTime() + msg.etaSeconds * 1000)) }
      : {}),
    updatedAt: k8sTime(receivedAt),
  };
}

export interface TrackerOptions {
  /** Least time between two progress writes of one Video (PROGRESS_WRITE_INTERVAL). */
  intervalMs: number;
  /** A Video (by uid) has news worth a pass: enqueue it. */
  wake: (uid: string) => void;
  now?: () => number;
}

interface Entry {
  renditions: Map<RenditionName, RenditionProgress>;
  /** When a pass last wrote this Video's progress (-Infinity: never). */
  lastWrite: number;
  /** Reports arrived since that write. */
  dirty: boolean;
  timer?: NodeJS.Timeout;
}

export class ProgressTracker {
  private readonly entries = new Map<string, Entry>();
  /** Counters for tests and the bench. */
  received = 0;
  wakes = 0;

  constructor(private readonly o: TrackerOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Keeps `msg` as its rendition's latest report and arranges one pass when a write is due. */
  record(msg: ProgressMessage): void {
    this.received++;
    let e = this.entries.get(msg.uid);
    if (!e) {
      e = { renditions: new Map(), lastWrite: -Infinity, dirty: false };
      this.entries.set(msg.uid, e);
    }
    e.renditions.set(msg.rendition, toRenditionProgress(msg, new Date(this.now())));
    e.dirty = true;
    this.arm(msg.uid, e);
  }

  /**
   * For a pass over the Video `uid`: its latest reports when a progress write is due (news arrived
   * and the interval since the last one has passed), else undefined (the stored progress stays).
   */
  due(uid: string): ReadonlyMap<RenditionName, RenditionProgress> | undefined {
    const e = this.entries.get(uid);
    if (!e?.dirty) return undefined;
    if (this.now() - e.lastWrite < this.o.intervalMs) {
      this.arm(uid, e);
      return undefined;
    }
    return e.renditions;
  }

  /** The pass that got due() reports is over: `wrote` = its status write happened. */
  settled(uid: string, wrote: boolean): void {
    const e = this.entries.get(uid);
    if (!e) return;
    e.dirty = false;
    if (wrote) e.lastWrite = this.now();
  }

  /** The Video is gone or no longer encodes: its reports are dropped. */
  forget(uid: string): void {
    const e = this.entries.get(uid);
    if (e?.timer) clearTimeout(e.timer);
    this.entries.delete(uid);
  }

  get size(): number {
    return this.entries.size;
  }

  stop(): void {
    for (const uid of [...this.entries.keys()]) this.forget(uid);
  }

  /** One pass at `lastWrite + interval` at the earliest; one timer per Video at a time. */
  private arm(uid: string, e: Entry): void {
    if (e.timer) return;
    const delay = Math.max(0, e.lastWrite + this.o.intervalMs - this.now());
    e.timer = setTimeout(() => {
      e.timer = undefined;
      this.wakes++;
      this.o.wake(uid);
    }, delay);
    e.timer.unref();
  }
}

export interface ConsumerOptions {
  url: string;
  exchange: string;
  /** This replica's queue (common/grants progressQueueName): exclusive, deleted with the connection. */
  queue: string;
  logger: Logger;
  timeoutMs?: number;
  backoffMaxMs?: number;
  onMessage: (msg: ProgressMessage) => void;
  onInvalid?: () => void;
}

/** Consumes the progress exchange on an exclusive, auto-deleted queue; reports are never acknowledged. */
export class ProgressConsumer {
  private readonly link: AmqpLifecycle<Channel>;
  invalid = 0;

  constructor(private readonly o: ConsumerOptions) {
    this.link = new AmqpLifecycle<Channel>({
      url: o.url,
      connectionName: 'videoflix-operator-progress',
      logger: o.logger,
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      ...(o.backoffMaxMs !== undefined ? { backoffMaxMs: o.backoffMaxMs } : {}),
      setup: async (conn, lost) => {
        const ch = await conn.createChannel();
        ch.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'progress channel error'));
        ch.on('close', lost);
        await ch.assertExchange(o.exchange, 'topic', { durable: true });
        await ch.assertQueue(o.queue, {
          exclusive: true,
          autoDelete: true,
          durable: false,
          // a slow or stopped consumer never builds a backlog of stale reports
          arguments: { 'x-message-ttl': 30_000, 'x-max-length': 10_000, 'x-overflow': 'drop-head' },
        });
        await ch.bindQueue(o.queue, o.exchange, '#');
        await ch.consume(o.queue, (m) => m && this.handle(m.content), { noAck: true });
        return ch;
      },
      onUp: () => o.logger.info({ exchange: o.exchange, queue: o.queue }, 'progress consumer connected'),
    });
  }

  get connected(): boolean {
    return this.link.connected;
  }

  start(): void {
    this.link.start();
  }

  stop(): Promise<void> {
    return this.link.stop();
  }

  private handle(content: Buffer): void {
    let parsed: ReturnType<typeof progressMessageSchema.safeParse>;
    try {
      parsed = progressMessageSchema.safeParse(JSON.parse(content.toString('utf8')));
    } catch {
      parsed = { success: false } as typeof parsed;
    }
    if (!parsed.success) {
      this.invalid++;
      this.o.onInvalid?.();
      if (this.invalid <= 10 || this.invalid % 1000 === 0)
        this.o.logger.warn({ invalid: this.invalid }, 'progress report ignored: not a progress message');
      return;
    }
    this.o.onMessage(parsed.data);
  }
}
