/**
 * Database migrations command:
 *   node --import=tsx api/migrate.ts up        apply pending migrations (default)
 *   node --import=tsx api/migrate.ts down      revert the last one
 *   node --import=tsx api/migrate.ts status    list executed and pending
 * Reads DATABASE_URL (and the other DATABASE_* settings) from the environment. A database that refuses
 * connections (still starting, or a NetworkPolicy enforcer that has not yet admitted this new Pod) is
 * retried with the platform's backoff for up to MIGRATE_CONNECT_TIMEOUT_SECONDS (60) before giving up.
 */
import { env, loadConfigOrExit, z } from '../common/config/index.js';
import { createLogger } from '../common/logging/index.js';
import { createSequelize, waitForDatabase } from './infra/db.js';
import { createMigrator, migrateUp, withMigrationLock } from './infra/migrator.js';

const schema = z.object({
  DATABASE_URL: env.str(),
  DATABASE_SSL: env.bool(false),
  MIGRATE_CONNECT_TIMEOUT_SECONDS: env.int(60).pipe(z.number().min(0).max(3600)),
});

async function main(): Promise<void> {
  const cfg = loadConfigOrExit(schema);
  const logger = createLogger('api-migrate');
  const sequelize = createSequelize({ url: cfg.DATABASE_URL, ssl: cfg.DATABASE_SSL, poolMax: 2 });
  const command = process.argv[2] ?? 'up';
  try {
    await waitForDatabase(sequelize, cfg.MIGRATE_CONNECT_TIMEOUT_SECONDS * 1000, logger);
    if (command === 'up') {
      const applied = await migrateUp(sequelize, logger);
      logger.info({ applied }, applied.length ? 'migrations applied' : 'database up to date');
    } else if (command === 'down') {
      const reverted = await withMigrationLock(sequelize, () => createMigrator(sequelize, logger).down());
      logger.info({ reverted: reverted.map((m) => m.name) }, 'migration reverted');
    } else if (command === 'status') {
      const migrator = createMigrator(sequelize);
      const executed = (await migrator.executed()).map((m) => m.name);
      const pending = (await migrator.pending()).map((m) => m.name);
      process.stdout.write(`${JSON.stringify({ executed, pending }, null, 2)}\n`);
    } else {
      process.stderr.write(`unknown command "${command}" (use up, down or status)\n`);
      process.exitCode = 64;
    }
  } finally {
    await sequelize.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`migration failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
