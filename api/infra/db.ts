/** PostgreSQL through Sequelize: one pool per process, closed last on shutdown. */
import { Sequelize } from 'sequelize';
import { backoffDelay, sleep } from '../../common/backoff/index.js';
import { isDatabaseUnavailable } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';

export interface DbOptions {
  url: string;
  poolMax?: number;
  ssl?: boolean;
  logger?: Logger;
}

export function createSequelize(opts: DbOptions): Sequelize {
  return new Sequelize(opts.url, {
    dialect: 'postgres',
    logging: opts.logger ? (sql: string) => opts.logger!.trace({ sql: sql.slice(0, 500) }, 'sql') : false,
    pool: { max: opts.poolMax ?? 10, min: 0, idle: 10_000, acquire: 15_000 },
    dialectOptions: {
      ...(opts.ssl ? { ssl: { rejectUnauthorized: true } } : {}),
      application_name: 'videoflix-api',
      // keep a stuck query from holding a request (and a pool slot) forever
      statement_timeout: 15_000,
    },
    define: { underscored: true, timestamps: true },
  });
}

/** Readiness probe: the database answers a trivial query within `timeoutMs`. */
export async function pingDb(sequelize: Sequelize, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sequelize.query('SELECT 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects, retrying connection-level failures only (the database still starting, or a NetworkPolicy
 * enforcer that has not yet admitted a new Pod: the first seconds of a hook or test Pod), until
 * `timeoutMs` has passed; then throws the last error. For the one-shot commands (migrate, create-admin).
 */
export async function waitForDatabase(
  sequelize: Sequelize,
  timeoutMs: number,
  logger?: Logger,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await sequelize.authenticate();
      return;
    } catch (err) {
      const wait = backoffDelay(attempt, 250, 5000);
      if (!isDatabaseUnavailable(err) || Date.now() + wait > deadline) throw err;
      logger?.warn({ attempt, err: (err as Error).message, retryInMs: wait }, 'database not reachable yet');
      await sleep(wait);
    }
  }
}
