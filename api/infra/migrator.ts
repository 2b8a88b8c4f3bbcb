/**
 * Schema migrations with Umzug, recorded in the `api_migrations` table. A PostgreSQL advisory lock
 * serialises concurrent runners (several API replicas starting at once, or a Job and a pod).
 */
import type { QueryInterface, Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import type { Logger } from '../../common/logging/index.js';
import { migrations } from '../migrations/index.js';

const LOCK_KEY = 74_210_301; // arbitrary, fixed: "videoflix api migrations"

export function createMigrator(sequelize: Sequelize, logger?: Logger): Umzug<QueryInterface> {
  return new Umzug({
    migrations: migrations.map((m) => ({ name: m.name, up: m.up, down: m.down })),
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: 'api_migrations' }),
    logger: logger
      ? {
          info: (e) => logger.info(e, 'migration'),
          warn: (e) => logger.warn(e, 'migration'),
          error: (e) => logger.error(e, 'migration'),
          debug: (e) => logger.debug(e, 'migration'),
        }
      : undefined,
  });
}

/** Applies pending migrations under the advisory lock; returns the names applied. */
export async function migrateUp(sequelize: Sequelize, logger?: Logger): Promise<string[]> {
  return withMigrationLock(sequelize, async () =>
    (await createMigrator(sequelize, logger).up()).map((m) => m.name),
  );
}

export async function withMigrationLock<T>(sequelize: Sequelize, fn: () => Promise<T>): Promise<T> {
  // Session-level advisory locks belong to one connection: hold one connection for the whole run.
  const conn = (await sequelize.connectionManager.getConnection({ type: 'write' })) as {
    query: (sql: string, values?: unknown[]) => Promise<unknown>;
  };
  try {
    await conn.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      return await fn();
    } finally {
      await conn.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  } finally {
    sequelize.connectionManager.releaseConnection(conn as never);
  }
}
