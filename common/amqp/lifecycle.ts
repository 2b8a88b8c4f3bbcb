/**
 * The one AMQP connection lifecycle, shared by the operator's status publisher and the API's status
 * consumer: connect with a timeout (TCP, handshake, then the owner's `setup`: channels, declarations,
 * consumers), reconnect with the platform's backoff (common/backoff) after a failed attempt or a lost
 * connection, and close on shutdown, bounded (a frozen broker never holds up a stop). What the owner
 * does on the connection (publish with confirms, consume and acknowledge) stays the owner's.
 */
import type { ChannelModel } from 'amqplib';
import { backoffDelay } from '../backoff/index.js';
import type { Logger } from '../logging/index.js';
import { DEFAULT_AMQP_TIMEOUT_MS, closeConnection, connect, withTimeout } from './index.js';

export interface AmqpLifecycleOptions<S> {
  url: string;
  /** The connection's name in the broker's management view (and in the logs). */
  connectionName: string;
  logger: Logger;
  /** Bound on connecting (TCP + handshake), on `setup`, and on closing. */
  timeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /**
   * Opens what the owner needs on a fresh connection and returns it (the session). A channel it opens
   * calls `lost` when it closes, so that the whole connection is replaced.
   */
  setup: (conn: ChannelModel, lost: () => void) => Promise<S>;
  /** After a successful setup (its errors are the owner's to handle). */
  onUp?: (session: S, conn: ChannelModel) => void | Promise<void>;
  /** After the session is gone (lost, reset or stopped). */
  onDown?: () => void;
  /** Extra log fields for a failed attempt (a hint about the cause). */
  explain?: (err: unknown) => Record<string, unknown>;
}

export class AmqpLifecycle<S> {
  private conn?: ChannelModel;
  private current?: S;
  private stopped = true;
  private timer?: NodeJS.Timeout;
  private connecting?: Promise<void>;
  /** Failed attempts (and resets) since the last successful connect. */
  failures = 0;

  constructor(private readonly o: AmqpLifecycleOptions<S>) {}

  /** What `setup` returned, while connected. */
  get session(): S | undefined {
    return this.current;
  }

  get connected(): boolean {
    return this.current !== undefined;
  }

  private get timeoutMs(): number {
    return this.o.timeoutMs ?? DEFAULT_AMQP_TIMEOUT_MS;
  }

  /** Connects in the background, and keeps reconnecting until stop(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connecting ??= this.connect();
  }

  /** Drops the current connection (its session failed the owner) and reconnects after a backoff. */
  async reset(): Promise<void> {
    const conn = this.drop();
    await closeConnection(conn, this.timeoutMs);
    this.schedule();
  }

  /**
   * No more reconnects; waits for an attempt in progress, lets `before` finish the owner's work on
   * the session (cancel a consumer, wait for acknowledgements), then closes the connection.
   */
  async stop(before?: (session: S | undefined) => Promise<void>): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.connecting?.catch(() => undefined);
    if (before) await before(this.current).catch(() => undefined);
    await closeConnection(this.drop(), this.timeoutMs);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let conn: ChannelModel | undefined;
    try {
      conn = await connect(this.o.url, this.timeoutMs, this.o.connectionName);
      const c = conn;
      c.on('error', (err: Error) => this.o.logger.warn({ err: err.message }, 'amqp connection error'));
      c.on('close', () => this.lost(c));
      const session = await withTimeout(
        this.o.setup(c, () => this.lost(c)),
        this.timeoutMs,
        'setting up the connection',
      );
      this.conn = c;
      this.current = session;
      this.failures = 0;
      await this.o.onUp?.(session, c);
    } catch (err) {
      if (this.conn === conn) this.drop();
      this.o.logger.warn(
        { err: (err as Error).message, connection: this.o.connectionName, ...this.o.explain?.(err) },
        'amqp connect failed',
      );
      await closeConnection(conn, this.timeoutMs);
      this.schedule();
    } finally {
      this.connecting = undefined;
    }
  }

  /** Forgets the current connection and session; returns the connection for closing. */
  private drop(): ChannelModel | undefined {
    const conn = this.conn;
    const had = this.current !== undefined;
    this.conn = undefined;
    this.current = undefined;
    if (had) this.o.onDown?.();
    return conn;
  }

  private lost(conn: ChannelModel): void {
    if (this.conn !== conn) return;
    this.drop();
    conn.close().catch(() => undefined);
    if (this.stopped) return;
    this.o.logger.warn({ connection: this.o.connectionName }, 'amqp connection lost');
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.failures++;
    const delay = backoffDelay(
      this.failures,
      this.o.backoffBaseMs ?? 500,
      this.o.backoffMaxMs ?? 30_000,
      0.2,
    );
    this.o.logger.warn(
      { connection: this.o.connectionName, retryInMs: Math.round(delay), attempt: this.failures },
      'amqp reconnecting',
    );
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.connecting = this.connect();
    }, delay);
    this.timer.unref();
  }
}
