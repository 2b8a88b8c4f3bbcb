/**
 * A fresh PostgreSQL database per test file, on the server of DATABASE_URL (set by the
 * integration hooks), migrated with the real migrations and dropped afterwards, so files never
 * see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import type { Sequelize } from 'sequelize';
import { createSequelize } from '../../../api/infra/db.js';
import { migrateUp } from '../../../api/infra/migrator.js';
import { initModels, type Models } from '../../../api/models/index.js';

export interface TestDatabase {
  url: string;
  name: string;
  sequelize: Sequelize;
  models: Models;
  drop(): Promise<void>;
}

function serverUrl(): URL {
  const url = process.env.DATABASE_URL;
  if (!url)
    throw new Error(
      'DATABASE_URL is not set: run through test/.mocharc.integration.json (integration hooks)',
    );
  return new URL(url);
}

async function admin(sql: string): Promise<void> {
  const s = createSequelize({ url: serverUrl().toString(), poolMax: 1 });
  try {
    await s.query(sql);
  } finally {
    await s.close();
  }
}

export async function freshDatabase(label: string): Promise<TestDatabase> {
  const name = `api_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE "${name}"`);
  const url = serverUrl();
  url.pathname = `/${name}`;
  const sequelize = createSequelize({ url: url.toString(), poolMax: 5 });
  const models = initModels(sequelize);
  await migrateUp(sequelize);
  return {
    url: url.toString(),
    name,
    sequelize,
    models,
    async drop() {
      await sequelize.close();
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
