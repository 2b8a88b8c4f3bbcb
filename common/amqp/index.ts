/**
 * Bounds on talking to RabbitMQ, shared by the operator's publisher and the api's consumer. amqplib
 * waits for the broker without limit at every step after the TCP connection (channel open, declare,
 * cancel, close): a broker that accepts connections and then stops answering (frozen, overloaded,
 * a half-dead network path) would hang the caller until the heartbeat notices, or for ever.
 */
import amqp, { type ChannelModel } from 'amqplib';

export const DEFAULT_AMQP_TIMEOUT_MS = 10_000;

export class AmqpTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(what: string, ms: number) {
    super(`${what}: no answer from the broker within ${ms} ms`);
    this.name = 'AmqpTimeoutError';
  }
}

/** `work`, or an AmqpTimeoutError after `ms` (the work itself is left to fail on its own). */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AmqpTimeoutError(what, ms)), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Connects with `ms` bounding the TCP connect and the AMQP handshake (amqplib's socket `timeout`,
 * which it clears once the connection is open).
 */
export function connect(url: string, ms: number, connectionName: string): Promise<ChannelModel> {
  return amqp.connect(url, { timeout: ms, clientProperties: { connection_name: connectionName } });
}

/**
 * Closes a connection politely if the broker answers within `ms`; otherwise destroys its socket, so
 * a frozen broker never holds up a reconnect or a shutdown.
 */
export async function closeConnection(conn: ChannelModel | undefined, ms: number): Promise<void> {
  if (!conn) return;
  try {
    await withTimeout(conn.close(), ms, 'closing the connection');
  } catch {
    const stream = (conn as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    stream?.destroy();
  }
}
