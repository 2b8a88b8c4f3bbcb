/**
 * Consumes the operator's status messages (RabbitMQ topic exchange, routing keys `video.<phase>` and
 * `video.deleted`) from a durable quorum queue bound with `video.#`, so messages published while the
 * API is down wait for it. Each message is handed to `handle` (which commits its database
 * transaction) and acknowledged only afterwards. A failure:
 * - the database is unreachable (`isTransient`): requeued after a pause, as often as it takes;
 * - anything else (a message that passes the schema but cannot be stored): requeued after a pause
 *   until the broker's delivery count (`x-delivery-count`, kept by quorum queues) reaches
 *   `maxDeliveries`, then rejected, which dead-letters it through `<queue>.dlx` into `<queue>.dead`
 *   (kept for an operator to inspect; nothing consumes it), so one poison message never blocks the
 *   queue or loops for ever;
 * - not a status message at all: logged and dead-lettered at once (it would fail the same way forever).
 * Duplicates and messages out of order are the handler's business (it keeps the newest by sequence).
 * Every step with the broker is bounded (`timeoutMs`); on a lost connection the consumer reconnects
 * with exponential backoff; unacknowledged messages go back to the queue by the broker's own rules.
 *
 * Upgrade: a durable queue's arguments cannot change (redeclaring with others is a
 * PRECONDITION_FAILED), so the quorum queue has a new name (AMQP_QUEUE, default
 * `videoflix.api.status`). The queue of earlier versions (`legacyQueue`, default
 * `videoflix.api.catalog`), when it exists, is unbound from the exchange (nothing new arrives there),
 * its remaining messages are consumed like the others, and it is deleted once empty.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { DEFAULT_AMQP_TIMEOUT_MS, closeConnection, connect, withTimeout } from '../../common/amqp/index.js';
import { deadLetterNames } from '../../common/grants/index.js';
import type { Logger } from '../../common/logging/index.js';
import { projectStatusMessage, type StatusUpdate } from '../catalog/projection.js';

export interface StatusConsumerOptions {
  url: string;
  exchange: string;
  queue: string;
  prefetch?: number;
  logger: Logger;
  handle: (update: StatusUpdate) => Promise<unknown>;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Pause before a message whose handling failed goes back to the queue. */
  retryDelayMs?: number;
  /** Deliveries of a message that keeps failing (not transiently) before it is dead-lettered (default 5). */
  maxDeliveries?: number;
  /** Failures that say nothing about the message (the database is down): retried without limit. */
  isTransient?: (err: unknown) => boolean;
  /** Queue of earlier versions to drain and delete ('' = none). */
  legacyQueue?: string;
  /** Bound on each step with the broker (connect, declare, cancel, close; default 10 s). */
  timeoutMs?: number;
}

/** The dead-letter exchange and queue of a status queue (named in common/grants, which grants them). */
export { deadLetterNames };

/** Arguments of the status queue (a quorum queue: the broker counts deliveries in x-delivery-count). */
export const queueArguments = (queue: string) => ({
  'x-queue-type': 'quorum',
  'x-dead-letter-exchange': deadLetterNames(queue).exchange,
  'x-dead-letter-routing-key': deadLetterNames(queue).queue,
});

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
  /** Messages dead-lettered since start. */
  deadLettered = 0;
  private legacyInFlight = 0;

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
        if (tag) await withTimeout(ch.cancel(tag), this.timeoutMs, 'cancelling the consumer');
      } catch {
        // channel already gone
      }
    }
    await Promise.allSettled([...this.inFlight]);
    await this.disconnect();
  }

  private get timeoutMs(): number {
    return this.o.timeoutMs ?? DEFAULT_AMQP_TIMEOUT_MS;
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
      conn = await connect(this.o.url, this.timeoutMs, 'videoflix-api-catalog');
      const c = conn;
      c.on('error', (err: Error) => this.o.logger.warn({ err: err.message }, 'amqp connection error'));
      c.on('close', () => this.lost(c));
      const ch = await withTimeout(this.declare(c), this.timeoutMs, 'declaring the status queue');
      this.connection = c;
      this.channel = ch;
      const { consumerTag } = await withTimeout(
        ch.consume(this.o.queue, (m) => this.onMessage(ch, m), { noAck: false }),
        this.timeoutMs,
        'starting to consume',
      );
      (ch as Channel & { consumerTag?: string }).consumerTag = consumerTag;
      this.connected = true;
      this.failures = 0;
      this.o.logger.info({ exchange: this.o.exchange, queue: this.o.queue }, 'status consumer connected');
      await withTimeout(this.drainLegacy(c, ch), this.timeoutMs, 'draining the legacy queue').catch(
        (err: unknown) =>
          this.o.logger.warn({ err: (err as Error).message }, 'could not drain the legacy status queue'),
      );
      if (this.stopped) await this.disconnect();
    } catch (err) {
      const message = (err as Error).message;
      this.o.logger.warn(
        {
          err: message,
          ...(/PRECONDITION_FAILED/.test(message)
            ? {
                hint: `a queue named ${this.o.queue} exists with other arguments: set AMQP_QUEUE to a new name and AMQP_LEGACY_QUEUE=${this.o.queue} to drain and remove the old one`,
              }
            : {}),
        },
        'status consumer could not connect',
      );
      if (this.connection === conn) {
        this.connection = undefined;
        this.channel = undefined;
      }
      await closeConnection(conn, this.timeoutMs);
      this.connected = false;
      this.schedule();
    } finally {
      this.connecting = undefined;
    }
  }

  /** Exchange, dead-letter exchange and queue, the quorum queue and its binding; the consuming channel. */
  private async declare(conn: ChannelModel): Promise<Channel> {
    const ch = await conn.createChannel();
    ch.on('error', (err: Error) => this.o.logger.warn({ err: err.message }, 'amqp channel error'));
    ch.on('close', () => this.lost(conn));
    const dead = deadLetterNames(this.o.queue);
    await ch.assertExchange(this.o.exchange, 'topic', { durable: true });
    await ch.assertExchange(dead.exchange, 'direct', { durable: true });
    await ch.assertQueue(dead.queue, { durable: true });
    await ch.bindQueue(dead.queue, dead.exchange, dead.queue);
    await ch.assertQueue(this.o.queue, { durable: true, arguments: queueArguments(this.o.queue) });
    await ch.bindQueue(this.o.queue, this.o.exchange, 'video.#');
    await ch.prefetch(this.o.prefetch ?? 8);
    return ch;
  }

  /**
   * The queue of an earlier version: unbound so nothing new arrives, consumed until empty, deleted.
   * Checked on a channel of its own (a missing queue closes the channel that asked).
   */
  private async drainLegacy(conn: ChannelModel, ch: Channel): Promise<void> {
    const legacy = this.o.legacyQueue;
    if (!legacy || legacy === this.o.queue) return;
    const side = await conn.createChannel();
    side.on('error', () => undefined);
    let count: number;
    try {
      count = (await side.checkQueue(legacy)).messageCount;
    } catch {
      return; // not there: nothing to migrate (the channel closed itself)
    }
    await side.unbindQueue(legacy, this.o.exchange, 'video.#');
    await side.close().catch(() => undefined);
    this.o.logger.info(
      { legacyQueue: legacy, messages: count },
      'draining the status queue of an earlier version',
    );
    if (count === 0) {
      await this.deleteLegacyIfEmpty(conn);
      return;
    }
    await ch.consume(legacy, (m) => this.onMessage(ch, m, true), { noAck: false });
  }

  private async deleteLegacyIfEmpty(conn: ChannelModel): Promise<void> {
    const legacy = this.o.legacyQueue;
    if (!legacy) return;
    const side = await conn.createChannel();
    side.on('error', () => undefined);
    try {
      const { messageCount } = await side.checkQueue(legacy);
      if (messageCount > 0) return;
      await side.deleteQueue(legacy, { ifEmpty: true });
      this.o.logger.info({ legacyQueue: legacy }, 'deleted the drained status queue of an earlier version');
    } catch {
      // gone already, or not empty after all: the next connect looks again
    } finally {
      await side.close().catch(() => undefined);
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
    await closeConnection(conn, this.timeoutMs);
  }

  private onMessage(ch: Channel, m: ConsumeMessage | null, legacy = false): void {
    if (!m) return; // the broker cancelled the consumer (queue deleted): the close handler reconnects
    if (legacy) this.legacyInFlight++;
    const work = this.process(ch, m, legacy).finally(() => {
      this.inFlight.delete(work);
      if (legacy && --this.legacyInFlight === 0 && this.connection)
        void this.deleteLegacyIfEmpty(this.connection);
    });
    this.inFlight.add(work);
  }

  /** Rejects a message for good: dead-lettered (the legacy queue has no dead-letter exchange: dropped). */
  private reject(ch: Channel, m: ConsumeMessage) {
    this.deadLettered++;
    safe(() => ch.nack(m, false, false));
  }

  private async process(ch: Channel, m: ConsumeMessage, legacy: boolean): Promise<void> {
    let parsed: StatusUpdate;
    try {
      parsed = projectStatusMessage(JSON.parse(m.content.toString('utf8')));
    } catch (err) {
      this.o.logger.error(
        { routingKey: m.fields.routingKey, messageId: m.properties.messageId, err: (err as Error).message },
        'dead-lettering a message that is not a status message',
      );
      this.reject(ch, m);
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
      const transient = this.o.isTransient?.(err) ?? false;
      // x-delivery-count: how many times the broker delivered it before (absent on the first delivery)
      const before = Number(m.properties.headers?.['x-delivery-count'] ?? 0);
      const deliveries = (Number.isFinite(before) ? before : 0) + 1;
      const max = this.o.maxDeliveries ?? 5;
      const log = {
        uid: parsed.uid,
        sequence: parsed.sequence,
        routingKey: m.fields.routingKey,
        err: (err as Error).message,
        deliveries,
        transient,
      };
      if (!transient && (deliveries >= max || (legacy && m.fields.redelivered))) {
        this.o.logger.error(
          { ...log, deadLetterQueue: legacy ? undefined : deadLetterNames(this.o.queue).queue },
          legacy
            ? 'status message of the legacy queue cannot be stored; dropped'
            : 'status message cannot be stored; dead-lettered',
        );
        this.reject(ch, m);
        return;
      }
      this.o.logger.warn(log, 'status message not handled; requeued');
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
