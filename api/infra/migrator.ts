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

/** The database schema compared with the code's migrations (readiness reports it). */
export interface SchemaStatus {
  /** current: every migration of the code applied (more than the code knows is fine: a newer release ran). */
  state: 'current' | 'behind' | 'missing';
  applied: number;
  expected: number;
  /** The code's migrations not applied, in order. */
  pending: string[];
  /** For humans (readiness body, logs): what is wrong and what to do. */
  message: string;
}

const RUN_MIGRATIONS = 'run the migrations (node dist/api/migrate.js up in an API Pod, or helm upgrade)';

/** Pure: the applied migration names against the code's list; `applied` undefined = no migrations table. */
export function compareSchema(
  applied: readonly string[] | undefined,
  expected: readonly string[],
): SchemaStatus {
  const done = new Set(applied ?? []);
  const pending = expected.filter((n) => !done.has(n));
  const counts = { applied: expected.length - pending.length, expected: expected.length, pending };
  if (applied === undefined || applied.length === 0)
    return {
      state: 'missing',
      ...counts,
      message: `schema missing: the database has no migrations applied (an empty or restored database): ${RUN_MIGRATIONS}`,
    };
  if (pending.length > 0)
    return {
      state: 'behind',
      ...counts,
      message: `schema behind: ${pending.length} of ${expected.length} migrations pending (${pending.join(', ')}): ${RUN_MIGRATIONS}`,
    };
  return { state: 'current', ...counts, message: `${expected.length} migrations applied` };
}

const UNDEFINED_TABLE = '42P01';

/** Reads the applied migrations (one small query) and compares them with the code's list. */
export async function schemaStatus(sequelize: Sequelize): Promise<SchemaStatus> {
  const expected = migrations.map((m) => m.name);
  try {
    const [rows] = await sequelize.query('SELECT name FROM api_migrations');
    return compareSchema(
      (rows as { name: string }[]).map((r) => r.name),
      expected,
    );
  } catch (err) {
    const pgCode = (err as { original?: { code?: string }; parent?: { code?: string } }).original?.code;
    if (pgCode === UNDEFINED_TABLE) return compareSchema(undefined, expected);
    throw err;
  }
}
