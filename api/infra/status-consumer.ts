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
 * The connection follows the platform's one AMQP lifecycle (common/amqp/lifecycle.ts): every step
 * with the broker is bounded (`timeoutMs`), a lost connection is replaced after the platform backoff,
 * and unacknowledged messages go back to the queue by the broker's own rules.
 *
 * Upgrade: a durable queue's arguments cannot change (redeclaring with others is a
 * PRECONDITION_FAILED), so the quorum queue has a new name (AMQP_QUEUE, default
 * `videoflix.api.status`). The queue of earlier versions (`legacyQueue`, default
 * `videoflix.api.catalog`), when it exists, is unbound from the exchange (nothing new arrives there),
 * its remaining messages are consumed like the others, and it is deleted once empty.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { DEFAULT_AMQP_TIMEOUT_MS, withTimeout } from '../../common/amqp/index.js';
import { AmqpLifecycle } from '../../common/amqp/lifecycle.js';
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
  /**
   * Called once per delivery with what became of it, whether the broker had delivered it before, and
   * for a handled message the seconds since the operator observed the status (its `observedAt`).
   */
  onOutcome?: (o: { outcome: StatusOutcome; redelivered: boolean; lagSeconds?: number }) => void;
}

export type StatusOutcome = 'handled' | 'requeued' | 'dead_lettered';

/** Seconds from a status message's `observedAt` to now (undefined when it has none or a bad one). */
export function lagSeconds(raw: unknown, now = Date.now()): number | undefined {
  const at = Date.parse(String((raw as { observedAt?: unknown } | null)?.observedAt ?? ''));
  return Number.isFinite(at) ? Math.max(0, (now - at) / 1000) : undefined;
}

/** The dead-letter exchange and queue of a status queue (named in common/grants, which grants them). */
export { deadLetterNames };

/** Arguments of the status queue (a quorum queue: the broker counts deliveries in x-delivery-count). */
export const queueArguments = (queue: string) => ({
  'x-queue-type': 'quorum',
  'x-dead-letter-exchange': deadLetterNames(queue).exchange,
  'x-dead-letter-routing-key': deadLetterNames(queue).queue,
});

/** What one connection of the consumer holds. */
interface Session {
  conn: ChannelModel;
  channel: Channel;
  consumerTag: string;
}

export class StatusConsumer {
  private readonly link: AmqpLifecycle<Session>;
  private readonly inFlight = new Set<Promise<void>>();
  /** Messages handled and acknowledged since start (for tests and logs). */
  handled = 0;
  /** Messages dead-lettered since start. */
  deadLettered = 0;
  private legacyInFlight = 0;

  constructor(private readonly o: StatusConsumerOptions) {
    this.link = new AmqpLifecycle<Session>({
      url: o.url,
      connectionName: 'videoflix-api-catalog',
      logger: o.logger,
      timeoutMs: this.timeoutMs,
      backoffBaseMs: o.backoffBaseMs ?? 250,
      ...(o.backoffMaxMs !== undefined ? { backoffMaxMs: o.backoffMaxMs } : {}),
      setup: async (conn, lost) => {
        const channel = await this.declare(conn, lost);
        const { consumerTag } = await channel.consume(o.queue, (m) => this.onMessage(channel, m), {
          noAck: false,
        });
        return { conn, channel, consumerTag };
      },
      onUp: async ({ conn, channel }) => {
        o.logger.info({ exchange: o.exchange, queue: o.queue }, 'status consumer connected');
        await withTimeout(this.drainLegacy(conn, channel), this.timeoutMs, 'draining the legacy queue').catch(
          (err: unknown) =>
            o.logger.warn({ err: (err as Error).message }, 'could not drain the legacy status queue'),
        );
      },
      explain: (err) =>
        /PRECONDITION_FAILED/.test((err as Error).message)
          ? {
              hint: `a queue named ${o.queue} exists with other arguments: set AMQP_QUEUE to a new name and AMQP_LEGACY_QUEUE=${o.queue} to drain and remove the old one`,
            }
          : {},
    });
  }

  /** True while a channel is consuming. */
  get connected(): boolean {
    return this.link.connected;
  }

  start(): void {
    this.link.start();
  }

  async stop(): Promise<void> {
    await this.link.stop(async (session) => {
      if (session) {
        try {
          // stop deliveries, let the handlers finish (they ack on this channel), then close
          await withTimeout(
            session.channel.cancel(session.consumerTag),
            this.timeoutMs,
            'cancelling the consumer',
          );
        } catch {
          // channel already gone
        }
      }
      await Promise.allSettled([...this.inFlight]);
    });
  }

  private get timeoutMs(): number {
    return this.o.timeoutMs ?? DEFAULT_AMQP_TIMEOUT_MS;
  }

  /** Exchange, dead-letter exchange and queue, the quorum queue and its binding; the consuming channel. */
  private async declare(conn: ChannelModel, lost: () => void): Promise<Channel> {
    const ch = await conn.createChannel();
    ch.on('error', (err: Error) => this.o.logger.warn({ err: err.message }, 'amqp channel error'));
    ch.on('close', lost);
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

  private onMessage(ch: Channel, m: ConsumeMessage | null, legacy = false): void {
    if (!m) return; // the broker cancelled the consumer (queue deleted): the close handler reconnects
    if (legacy) this.legacyInFlight++;
    const work = this.process(ch, m, legacy).finally(() => {
      this.inFlight.delete(work);
      const session = this.link.session;
      if (legacy && --this.legacyInFlight === 0 && session) void this.deleteLegacyIfEmpty(session.conn);
    });
    this.inFlight.add(work);
  }

  /** Rejects a message for good: dead-lettered (the legacy queue has no dead-letter exchange: dropped). */
  private reject(ch: Channel, m: ConsumeMessage) {
    this.deadLettered++;
    this.o.onOutcome?.({ outcome: 'dead_lettered', redelivered: m.fields.redelivered });
    safe(() => ch.nack(m, false, false));
  }

  private async process(ch: Channel, m: ConsumeMessage, legacy: boolean): Promise<void> {
    let parsed: StatusUpdate;
    let raw: unknown;
    try {
      raw = JSON.parse(m.content.toString('utf8'));
      parsed = projectStatusMessage(raw);
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
      const lag = lagSeconds(raw);
      this.o.onOutcome?.({
        outcome: 'handled',
        redelivered: m.fields.redelivered,
        ...(lag !== undefined ? { lagSeconds: lag } : {}),
      });
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
      this.o.onOutcome?.({ outcome: 'requeued', redelivered: m.fields.redelivered });
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
