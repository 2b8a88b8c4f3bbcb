import type { Migration } from './types.js';

export const name = '0006-catalog-notify';

/**
 * Every change of the videos table that the users' list can show (a row that is or was Ready)
 * notifies the channel `videoflix_catalog` (PostgreSQL NOTIFY, delivered at commit to every session
 * that LISTENs: each API replica, api/catalog/changes.ts), so a replica's list cache learns of another
 * replica's write, or of any other writer's, at once instead of asking the table on every request.
 * Writes to rows still uploading or processing (status updates, progress) say nothing. Row triggers: a
 * statement that changes no such row says nothing; PostgreSQL folds the notifications of one
 * transaction into one.
 */
export const up: Migration = async ({ context: qi }) => {
  const q = qi.sequelize;
  await q.query(`
    CREATE FUNCTION videoflix_catalog_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('videoflix_catalog', '');
      RETURN NULL;
    END $$`);
  await q.query(`
    CREATE TRIGGER videos_notify_insert AFTER INSERT ON videos
    FOR EACH ROW WHEN (NEW.phase = 'Ready') EXECUTE FUNCTION videoflix_catalog_notify()`);
  await q.query(`
    CREATE TRIGGER videos_notify_update AFTER UPDATE ON videos
    FOR EACH ROW WHEN (OLD.phase = 'Ready' OR NEW.phase = 'Ready') EXECUTE FUNCTION videoflix_catalog_notify()`);
  await q.query(`
    CREATE TRIGGER videos_notify_delete AFTER DELETE ON videos
    FOR EACH ROW WHEN (OLD.phase = 'Ready') EXECUTE FUNCTION videoflix_catalog_notify()`);
  await q.query(`
    CREATE TRIGGER videos_notify_truncate AFTER TRUNCATE ON videos
    FOR EACH STATEMENT EXECUTE FUNCTION videoflix_catalog_notify()`);
};

export const down: Migration = async ({ context: qi }) => {
  const q = qi.sequelize;
  await q.query('DROP TRIGGER IF EXISTS videos_notify_truncate ON videos');
  for (const t of ['videos_notify_insert', 'videos_notify_update', 'videos_notify_delete'])
    await q.query(`DROP TRIGGER IF EXISTS ${t} ON videos`);
  await q.query('DROP FUNCTION IF EXISTS videoflix_catalog_notify()');
};
