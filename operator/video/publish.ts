/**
 * Status messages to a RabbitMQ topic exchange, at least once:
 * - every message goes into an in-memory outbox first and leaves it only when the broker confirmed
 *   it (publisher confirms); a nack, a timeout or a lost connection keeps it for the next attempt;
 * - while the broker is down the connection lifecycle (common/amqp/lifecycle.ts) reconnects with
 *   the platform backoff; the outbox keeps
 *   the messages in order meanwhile (bounded: past `maxOutbox` the oldest are dropped and logged);
 * - consumers de-duplicate with messageId (`<uid>:<sequence>`) and ignore stale ones by sequence.
 * The outbox lives in memory: messages still waiting when the process dies are lost; the next
 * phase change (or the API's own resync) repairs the catalog.
 */
import type { ConfirmChannel } from 'amqplib';
import { DEFAULT_AMQP_TIMEOUT_MS } from '../../common/amqp/index.js';
import { AmqpLifecycle } from '../../common/amqp/lifecycle.js';
import { sleep } from '../../common/backoff/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { VideoStatusMessage } from '../../common/video/index.js';

export interface StatusSink {
  publish(routingKey: string, message: VideoStatusMessage): void;
  readonly size: number;
}

interface Pending {
  routingKey: string;
  message: VideoStatusMessage;
}

export interface PublisherOptions {
  url: string;
  exchange: string;
  logger: Logger;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Bound on a publish confirm (default: timeoutMs). */
  confirmTimeoutMs?: number;
  /** Bound on connecting (TCP + handshake + channel + declaring the exchange) and on closing. */
  timeoutMs?: number;
  maxOutbox?: number;
  onResult?: (result: 'confirmed' | 'failed' | 'dropped') => void;
}

export class StatusPublisher implements StatusSink {
  private readonly outbox: Pending[] = [];
  /** The connection (common/amqp/lifecycle.ts); its session is the confirm channel. */
  private readonly link: AmqpLifecycle<ConfirmChannel>;
  private readonly abort = new AbortController();
  private wake?: () => void;
  private running?: Promise<void>;

  constructor(private readonly o: PublisherOptions) {
    this.link = new AmqpLifecycle({
      url: o.url,
      connectionName: 'videoflix-operator',
      logger: o.logger,
      timeoutMs: o.timeoutMs ?? DEFAULT_AMQP_TIMEOUT_MS,
      ...(o.backoffBaseMs !== undefined ? { backoffBaseMs: o.backoffBaseMs } : {}),
      ...(o.backoffMaxMs !== undefined ? { backoffMaxMs: o.backoffMaxMs } : {}),
      setup: async (conn, lost) => {
        const ch = await conn.createConfirmChannel();
        ch.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'amqp channel error'));
        ch.on('close', lost);
        await ch.assertExchange(o.exchange, 'topic', { durable: true });
        return ch;
      },
      onUp: () => {
        o.logger.info({ exchange: o.exchange, waiting: this.outbox.length }, 'amqp connected');
        this.wake?.();
      },
      onDown: () => this.wake?.(),
    });
  }

  /** True while a confirm channel is open. */
  get connected(): boolean {
    return this.link.connected;
  }

  get size(): number {
    return this.outbox.length;
  }

  start(): void {
    this.link.start();
    this.running ??= this.pump();
  }

  publish(routingKey: string, message: VideoStatusMessage): void {
    this.outbox.push({ routingKey, message });
    const max = this.o.maxOutbox ?? 10_000;
    while (this.outbox.length > max) {
      const dropped = this.outbox.shift();
      this.o.onResult?.('dropped');
      this.o.logger.error(
        { routingKey: dropped?.routingKey, uid: dropped?.message.uid },
        'status outbox full: dropped oldest',
      );
    }
    this.wake?.();
  }

  /** Flushes for up to `drainMs`, then closes the connection. */
  async stop(drainMs = 5_000): Promise<void> {
    const deadline = Date.now() + drainMs;
    while (this.outbox.length > 0 && this.connected && Date.now() < deadline) await sleep(20);
    this.abort.abort();
    this.wake?.();
    await this.running;
    await this.link.stop();
  }

  private get timeoutMs(): number {
    return this.o.timeoutMs ?? DEFAULT_AMQP_TIMEOUT_MS;
  }

  private send(ch: ConfirmChannel, item: Pending): Promise<void> {
    const body = Buffer.from(JSON.stringify(item.message));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('publish confirm timed out')),
        this.o.confirmTimeoutMs ?? this.timeoutMs,
      );
      try {
        ch.publish(
          this.o.exchange,
          item.routingKey,
          body,
          {
            persistent: true,
            contentType: 'application/json',
            messageId: `${item.message.uid}:${item.message.sequence}`,
            timestamp: Math.floor(Date.now() / 1000),
            type: 'video.status',
            appId: 'videoflix-operator',
          },
          (err: unknown) => {
            clearTimeout(timer);
            if (err) reject(err instanceof Error ? err : new Error('message nacked'));
            else resolve();
          },
        );
      } catch (err) {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  private async pump(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const ch = this.link.session;
      const item = this.outbox[0];
      if (!ch || !item) {
        // woken by a new message, a (re)connect or stop(); the lifecycle reconnects meanwhile
        await this.pause(60_000);
        continue;
      }
      try {
        await this.send(ch, item);
        if (this.outbox[0] === item) this.outbox.shift();
        this.o.onResult?.('confirmed');
        this.o.logger.debug({ routingKey: item.routingKey, uid: item.message.uid }, 'status published');
      } catch (err) {
        this.o.onResult?.('failed');
        this.o.logger.warn(
          { err: (err as Error).message, routingKey: item.routingKey, waiting: this.outbox.length },
          'status publish failed; will retry',
        );
        await this.link.reset(); // a new connection after the backoff
      }
    }
  }

  /** Waits `ms`, or less when a message arrives, the connection changes or stop() is called. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.abort.signal;
      const done = () => {
        clearTimeout(t);
        if (this.wake === done) this.wake = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** A sink that keeps messages in memory (tests, or when no broker is configured). */
export class MemorySink implements StatusSink {
  readonly messages: Pending[] = [];
  publish(routingKey: string, message: VideoStatusMessage): void {
    this.messages.push({ routingKey, message });
  }
  get size(): number {
    return 0;
  }
}
