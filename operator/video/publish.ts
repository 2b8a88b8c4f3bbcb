/**
 * Status messages to a RabbitMQ topic exchange, at least once:
 * - every message goes into an in-memory outbox first and leaves it only when the broker confirmed
 *   it (publisher confirms); a nack, a timeout or a lost connection keeps it for the next attempt;
 * - while the broker is down the publisher reconnects with exponential backoff; the outbox keeps
 *   the messages in order meanwhile (bounded: past `maxOutbox` the oldest are dropped and logged);
 * - consumers de-duplicate with messageId (`<uid>:<sequence>`) and ignore stale ones by sequence.
 * The outbox lives in memory: messages still waiting when the process dies are lost; the next
 * phase change (or the API's own resync) repairs the catalog.
 */
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { DEFAULT_AMQP_TIMEOUT_MS, closeConnection, connect, withTimeout } from '../../common/amqp/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { VideoStatusMessage } from '../../common/video/index.js';
import { backoffDelay, sleep } from '../runtime/backoff.js';

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
  private connection?: ChannelModel;
  private channel?: ConfirmChannel;
  private readonly abort = new AbortController();
  private wake?: () => void;
  private running?: Promise<void>;
  private failures = 0;
  connected = false;

  constructor(private readonly o: PublisherOptions) {}

  get size(): number {
    return this.outbox.length;
  }

  start(): void {
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
    await this.disconnect();
  }

  private get timeoutMs(): number {
    return this.o.timeoutMs ?? DEFAULT_AMQP_TIMEOUT_MS;
  }

  private async connect() {
    const conn = await connect(this.o.url, this.timeoutMs, 'videoflix-operator');
    let ch: ConfirmChannel;
    try {
      ch = await withTimeout(this.open(conn), this.timeoutMs, 'opening a confirm channel');
    } catch (err) {
      await closeConnection(conn, this.timeoutMs);
      throw err;
    }
    this.connection = conn;
    this.channel = ch;
    this.connected = true;
    this.o.logger.info({ exchange: this.o.exchange }, 'amqp connected');
  }

  private async open(conn: ChannelModel): Promise<ConfirmChannel> {
    conn.on('error', (err: Error) => this.o.logger.warn({ err: err.message }, 'amqp connection error'));
    conn.on('close', () => {
      if (this.connection === conn) {
        this.connection = undefined;
        this.channel = undefined;
        this.connected = false;
        this.o.logger.warn('amqp connection closed');
        this.wake?.();
      }
    });
    const ch = await conn.createConfirmChannel();
    ch.on('error', (err: Error) => this.o.logger.warn({ err: err.message }, 'amqp channel error'));
    ch.on('close', () => {
      if (this.channel === ch) {
        this.channel = undefined;
        this.connected = false;
        this.wake?.();
      }
    });
    await ch.assertExchange(this.o.exchange, 'topic', { durable: true });
    return ch;
  }

  private async disconnect() {
    const conn = this.connection;
    this.connection = undefined;
    this.channel = undefined;
    this.connected = false;
    await closeConnection(conn, this.timeoutMs);
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
      if (!this.channel) {
        try {
          await this.connect();
          this.failures = 0;
        } catch (err) {
          this.failures++;
          const delay = backoffDelay(
            this.failures,
            this.o.backoffBaseMs ?? 500,
            this.o.backoffMaxMs ?? 30_000,
            0.2,
          );
          this.o.logger.warn(
            { err: (err as Error).message, retryInMs: Math.round(delay), waiting: this.outbox.length },
            'amqp connect failed',
          );
          await this.pause(delay);
          continue;
        }
      }
      const item = this.outbox[0];
      if (!item) {
        await this.pause(60_000);
        continue;
      }
      const ch = this.channel;
      if (!ch) continue;
      try {
        await this.send(ch, item);
        if (this.outbox[0] === item) this.outbox.shift();
        this.o.onResult?.('confirmed');
        this.o.logger.debug({ routingKey: item.routingKey, uid: item.message.uid }, 'status published');
      } catch (err) {
        this.o.onResult?.('failed');
        this.o.logger.warn(
          { err: (err as Error).message, routingKey: item.routingKey },
          'status publish failed; will retry',
        );
        await this.disconnect();
        this.failures++;
        await this.pause(
          backoffDelay(this.failures, this.o.backoffBaseMs ?? 500, this.o.backoffMaxMs ?? 30_000, 0.2),
        );
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
