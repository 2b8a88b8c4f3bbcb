/**
 * The one mapping of infrastructure failures to "service unavailable": object storage (S3),
 * PostgreSQL, RabbitMQ and the Kubernetes API, when unreachable, refusing or not answering in time.
 * Owner: common. Reader: the API's error handling, which answers 503 with `{"detail": detail}` and
 * the stable `code` for logs (api/errors.ts and the catalog routes); a failure that is not an
 * infrastructure one is left to the caller (undefined).
 */
import { ApiException } from '@kubernetes/client-node';
import { AmqpTimeoutError } from '../amqp/index.js';
import { isKubeTimeout } from '../kube/index.js';
import { StorageError, StorageTimeoutError } from '../storage/index.js';

export type Dependency = 'storage' | 'database' | 'amqp' | 'kubernetes';

export interface Unavailable {
  dependency: Dependency;
  /** Stable code of the answer (`<what>_unavailable`). */
  code: string;
  /** The answer's `detail`, for humans: what is unavailable, and to try again later. */
  detail: string;
}

export const UNAVAILABLE: Record<Dependency, Unavailable> = {
  storage: {
    dependency: 'storage',
    code: 'storage_unavailable',
    detail: 'Object storage is unavailable, try again later.',
  },
  database: {
    dependency: 'database',
    code: 'database_unavailable',
    detail: 'Service temporarily unavailable, try again later.',
  },
  amqp: {
    dependency: 'amqp',
    code: 'messaging_unavailable',
    detail: 'The message broker is unavailable, try again later.',
  },
  kubernetes: {
    dependency: 'kubernetes',
    code: 'kubernetes_unavailable',
    detail: 'The processing cluster is unavailable, try again later.',
  },
};

/** Socket-level failures: the server is down, unreachable, or did not answer in time. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** A connection-level failure (its own code or its cause's), or a Kubernetes call that timed out. */
export function isUnreachable(err: unknown): boolean {
  if (isKubeTimeout(err)) return true;
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' && CONNECTION_CODES.has(code);
}

/** Sequelize's connection-level failures: the database is down or the pool is exhausted. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const name = err instanceof Error ? err.name : '';
  if (name === 'SequelizeDatabaseError') {
    // a query on a connection the server ended: a Pod deleted (57P01 admin shutdown, 57P02 crash
    // shutdown, 57P03 cannot connect now) or the socket gone mid-query (pg's own message)
    const original = (err as { original?: { code?: unknown; message?: unknown } }).original;
    const code = typeof original?.code === 'string' ? original.code : '';
    return code.startsWith('57P') || /^Connection terminated/.test(String(original?.message ?? ''));
  }
  return (
    name.startsWith('SequelizeConnection') ||
    name === 'SequelizeHostNotReachableError' ||
    name === 'ConnectionAcquireTimeoutError'
  );
}

/**
 * Which dependency `err` says is unavailable, if any. Errors that name their origin (StorageError,
 * Sequelize's, amqplib timeouts, the Kubernetes client's ApiException and aborted calls) are mapped
 * wherever they arise; a bare socket error only where the caller knows whom it talked to (`context`).
 */
export function unavailable(err: unknown, context?: Dependency): Unavailable | undefined {
  if (err instanceof StorageError || err instanceof StorageTimeoutError) return UNAVAILABLE.storage;
  if (isDatabaseUnavailable(err)) return UNAVAILABLE.database;
  if (err instanceof AmqpTimeoutError) return UNAVAILABLE.amqp;
  if (err instanceof ApiException || isKubeTimeout(err)) return UNAVAILABLE.kubernetes;
  if (context && isUnreachable(err)) return UNAVAILABLE[context];
  return undefined;
}
