/**
 * Progress reports of one rendition's encode (common/video/progress.ts), best effort:
 * - `ProgressThrottle` (pure) lets a report through at most every `intervalMs`, or sooner once the
 *   percent moved by `stepPercent`: ffmpeg prints a progress line about twice a second;
 * - `ProgressReporter` publishes them, transient, on the progress topic exchange (routing key = the
 *   Video's uid) over the shared AMQP lifecycle (common/amqp/lifecycle.ts). Nothing ever waits for the
 *   broker: while it is not connected, or while the socket's buffer is full, a report is dropped. A
 *   broker that is unreachable or not configured never slows or fails the encode.
 * The transcoder's broker user may only publish to that exchange: it declares nothing (a passive check
 * of the exchange, which needs no permission), so the operator or the chart declares it.
 */
import type { Channel } from 'amqplib';
import { withTimeout } from '../common/amqp/index.js';
import { AmqpLifecycle } from '../common/amqp/lifecycle.js';
import type { Logger } from '../common/logging/index.js';
import {
  etaSeconds,
  PROGRESS_MESSAGE_TYPE,
  progressMessageSchema,
  type ProgressMessage,
  type RenditionName,
} from '../common/video/index.js';
import type { ProgressSettings } from './config.js';
import type { EncodeProgress } from './ffmpeg/index.js';

/** Lets a report through at most every `intervalMs`, or once the percent moved by `stepPercent`. */
export class ProgressThrottle {
  private lastAt = -Infinity;
  private lastPercent = -Infinity;

  constructor(
    private readonly intervalMs: number,
    private readonly stepPercent: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether a report of `percent` goes out now (and if so, it counts as sent). */
  pass(percent: number): boolean {
    const t = this.now();
    if (t - this.lastAt < this.intervalMs && percent - this.lastPercent < this.stepPercent) return false;
    this.lastAt = t;
    this.lastPercent = percent;
    return true;
  }
}

/** The message of one progress line (rounded: the wire carries what a bar needs). */
export function progressMessage(
  uid: string,
  rendition: RenditionName,
  p: EncodeProgress,
  at: Date,
): ProgressMessage {
  const eta = etaSeconds(p.encodedSeconds, p.durationSeconds, p.speed);
  const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
  return {
    uid,
    rendition,
    percent: round(p.percent, 1),
    encodedSeconds: round(p.encodedSeconds, 2),
    durationSeconds: p.durationSeconds,
    ...(p.speed !== undefined ? { speed: round(p.speed, 3) } : {}),
    ...(eta !== undefined ? { etaSeconds: round(eta, 1) } : {}),
    at: at.toISOString(),
  };
}

export interface ReporterOptions extends ProgressSettings {
  logger: Logger;
  /** Bound on connecting and on closing (short: the encode never waits for it). */
  timeoutMs?: number;
}

/** Publishes progress reports while connected; drops them otherwise. */
export class ProgressReporter {
  private readonly link: AmqpLifecycle<Channel>;
  private blocked = false;
  sent = 0;
  dropped = 0;

  constructor(private readonly o: ReporterOptions) {
    this.link = new AmqpLifecycle<Channel>({
      url: o.url,
      connectionName: 'videoflix-transcoder',
      logger: o.logger,
      timeoutMs: o.timeoutMs ?? 3_000,
      backoffBaseMs: 1_000,
      backoffMaxMs: 15_000,
      setup: async (conn, lost) => {
        const ch = await conn.createChannel();
        ch.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'progress channel error'));
        ch.on('close', lost);
        ch.on('drain', () => (this.blocked = false));
        await ch.checkExchange(o.exchange);
        return ch;
      },
      onUp: () => o.logger.info({ exchange: o.exchange }, 'progress reports connected'),
      // the URL carries a password: never in the logs
      explain: () => ({ exchange: o.exchange }),
    });
  }

  start(): void {
    this.link.start();
  }

  /** Sends `message` if a channel is open and not blocked; never throws, never waits. */
  report(message: ProgressMessage): boolean {
    const ch = this.link.session;
    if (!ch || this.blocked || !progressMessageSchema.safeParse(message).success) {
      this.dropped++;
      return false;
    }
    try {
      const ok = ch.publish(this.o.exchange, message.uid, Buffer.from(JSON.stringify(message)), {
        contentType: 'application/json',
        type: PROGRESS_MESSAGE_TYPE,
        persistent: false,
        // worthless once newer ones exist: a queue that nobody reads does not keep them
        expiration: String(Math.max(10_000, this.o.intervalMs * 10)),
      });
      if (!ok) this.blocked = true;
      this.sent++;
      return true;
    } catch {
      this.dropped++;
      return false;
    }
  }

  /** Closes the connection; never holds up the exit for longer than `ms` (a frozen broker). */
  async stop(ms = 1_000): Promise<void> {
    await withTimeout(this.link.stop(), ms, 'closing the progress connection').catch(() => undefined);
  }
}

/**
 * The rendition task's hook: throttled reports of `uid`/`rendition` to `reporter` (undefined: only
 * the throttled log lines are kept).
 */
export function progressHook(
  uid: string,
  rendition: RenditionName,
  settings: Pick<ProgressSettings, 'intervalMs' | 'stepPercent'>,
  reporter: Pick<ProgressReporter, 'report'> | undefined,
  log: Logger,
  now: () => Date = () => new Date(),
): (p: EncodeProgress) => void {
  const throttle = new ProgressThrottle(settings.intervalMs, settings.stepPercent);
  let logged = -1;
  return (p) => {
    const step = Math.floor(p.percent / 25) * 25;
    if (step > logged) {
      logged = step;
      log.info({ percent: step, speed: p.speed }, 'encoding progress');
    }
    if (reporter && throttle.pass(p.percent)) reporter.report(progressMessage(uid, rendition, p, now()));
  };
}
