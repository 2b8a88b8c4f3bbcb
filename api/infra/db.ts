/** PostgreSQL through Sequelize: one pool per process, closed last on shutdown. */
import { Sequelize } from 'sequelize';
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
