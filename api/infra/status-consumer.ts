/**
 * Consumes the operator's status messages (RabbitMQ topic exchange, routing keys `video.<phase>` and
 * `video.deleted`) from a durable queue bound with `video.#`, so messages published while the API
 * is down wait for it. Each message is handed to `handle` (which commits its database transaction)
 * and acknowledged only afterwards; a handler failure (database down) requeues it after a pause;
 * a message that is not a status message at all is logged and dropped (nack without requeue), as
 * it would fail the same way forever. On a lost connection the consumer reconnects with
 * exponential backoff; unacknowledged messages go back to the queue by the broker's own rules.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { Logger } from '../../common/logging/index.js';
import type { VideoStatusMessage } from '../../common/video/index.js';
import { statusMessageSchema } from '../services/catalog-state.js';

export interface StatusConsumerOptions {
  url: string;
  exchange: string;
  queue: string;
  prefetch?: number;
  logger: Logger;
  handle: (msg: VideoStatusMessage) => Promise<unknown>;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Pause before a message whose handling failed goes back to the queue. */
  retryDelayMs?: number;
}

export class StatusConsumer {
  private connection?: ChannelModel;
  private channel?: Channel;
  private stopped = false;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private connecting?: Promise<void>;
  /** True while a channel is consuming. */
  connected = false;
  /** Messages handled and acknowledged since start (for tests and logs). */
  handled = 0;

  constructor(private readonly o: StatusConsumerOptions) {}

  start(): void {
    this.stopped = false;
    this.connecting ??= this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.connecting?.catch(() => undefined);
    const ch = this.channel;
    if (ch) {
      try {
        // stop deliveries, let the handlers finish (they ack on this channel), then close
        const tag = (ch as Channel & { consumerTag?: string }).consumerTag;
        if (tag) await ch.cancel(tag);
      } catch {
        // channel already gone
      }
    }
    await Promise.allSettled([...this.inFlight]);
    await this.disconnect();
  }

  private backoff(): number {
    const base = this.o.backoffBaseMs ?? 250;
    const max = this.o.backoffMaxMs ?? 30_000;
    const exp = Math.min(max, base * 2 ** Math.max(0, this.failures - 1));
    return exp * (0.8 + Math.random() * 0.2);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.failures++;
    const delay = this.backoff();
    this.o.logger.warn(
      { retryInMs: Math.round(delay), attempt: this.failures },
      'status consumer reconnecting',
    );
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.connecting = this.connect();
    }, delay);
    this.timer.unref();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let conn: ChannelModel | undefined;
    try {
      conn = await amqp.connect(this.o.url, {
        clientProperties: { connection_name: 'videoflix-api-catalog' },
      });
      conn.on('error', (err: Error) => this.o.logger.warn({ err: err.message }, 'amqp connection error'));
      conn.on('close', () => this.lost(conn!));
      const ch = await conn.createChannel();
      ch.on('error', (err: Error) => this.o.logger.warn({ err: err.message }, 'amqp channel error'));
      ch.on('close', () => this.lost(conn!));
      await ch.assertExchange(this.o.exchange, 'topic', { durable: true });
      await ch.assertQueue(this.o.queue, { durable: true });
      await ch.bindQueue(this.o.queue, this.o.exchange, 'video.#');
      await ch.prefetch(this.o.prefetch ?? 8);
      this.connection = conn;
      this.channel = ch;
      const { consumerTag } = await ch.consume(this.o.queue, (m) => this.onMessage(ch, m), { noAck: false });
      (ch as Channel & { consumerTag?: string }).consumerTag = consumerTag;
      this.connected = true;
      this.failures = 0;
      this.o.logger.info({ exchange: this.o.exchange, queue: this.o.queue }, 'status consumer connected');
      if (this.stopped) await this.disconnect();
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'status consumer could not connect');
      await conn?.close().catch(() => undefined);
      if (this.connection === conn) {
        this.connection = undefined;
        this.channel = undefined;
      }
      this.connected = false;
      this.schedule();
    } finally {
      this.connecting = undefined;
    }
  }

  private lost(conn: ChannelModel) {
    if (this.connection !== conn) return;
    this.connection = undefined;
    this.channel = undefined;
    this.connected = false;
    conn.close().catch(() => undefined);
    if (!this.stopped) {
      this.o.logger.warn('status consumer lost the broker');
      this.schedule();
    }
  }

  private async disconnect() {
    const conn = this.connection;
    this.connection = undefined;
    this.channel = undefined;
    this.connected = false;
    await conn?.close().catch(() => undefined);
  }

  private onMessage(ch: Channel, m: ConsumeMessage | null): void {
    if (!m) return; // the broker cancelled the consumer (queue deleted): the close handler reconnects
    const work = this.process(ch, m).finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  private async process(ch: Channel, m: ConsumeMessage): Promise<void> {
    let parsed: VideoStatusMessage;
    try {
      const result = statusMessageSchema.safeParse(JSON.parse(m.content.toString('utf8')));
      if (!result.success)
        throw new Error(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      parsed = result.data as VideoStatusMessage;
    } catch (err) {
      this.o.logger.error(
        { routingKey: m.fields.routingKey, messageId: m.properties.messageId, err: (err as Error).message },
        'dropping a message that is not a status message',
      );
      safe(() => ch.nack(m, false, false));
      return;
    }
    try {
      const result = await this.o.handle(parsed);
      safe(() => ch.ack(m));
      this.handled++;
      this.o.logger.debug(
        { routingKey: m.fields.routingKey, uid: parsed.uid, sequence: parsed.sequence, result },
        'status message handled',
      );
    } catch (err) {
      this.o.logger.warn(
        { uid: parsed.uid, err: (err as Error).message },
        'status message not handled; requeued',
      );
      await new Promise((r) => setTimeout(r, this.o.retryDelayMs ?? 1000));
      safe(() => ch.nack(m, false, true));
    }
  }
}

/** Acks on a closed channel throw; the broker then redelivers, which the handler tolerates. */
function safe(fn: () => void) {
  try {
    fn();
  } catch {
    // channel closed
  }
}
