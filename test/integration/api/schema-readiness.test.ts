/**
 * Readiness knows the database schema (issue 20): an emptied database (a restore, a lost volume) or
 * migrations not run make /readyz answer 503 with a message saying what is missing and what to run,
 * requests get a 503 instead of a 500 ("relation does not exist"), and once the migrations have run the
 * same process is ready again, without a restart.
 */
import { expect } from 'chai';
import supertest from 'supertest';
import { createMigrator, migrateUp } from '../../../api/infra/migrator.js';
import { migrations } from '../../../api/migrations/index.js';
import type { TestApp } from './helpers/app.js';
import type { TestDatabase } from './helpers/db.js';
import { useTestApp } from './helpers/setup.js';

describe('api: readiness checks the database schema', function () {
  let db: TestDatabase;
  let t: TestApp;
  const names = migrations.map((m) => m.name);

  useTestApp('schema_ready', { SCHEMA_CHECK_CACHE_MS: '0' }, (e) => ({ db, t } = e));

  it('is ready with every migration applied', async function () {
    await supertest(t.app)
      .get('/readyz')
      .expect(200, { status: 'ok', checks: { database: 'ok', schema: 'ok' } });
  });

  it('answers 503 "schema missing" on an emptied database, 503 (not 500) to requests, and recovers once migrated', async function () {
    // what a restore into an empty database (or a lost volume and a fresh initdb) leaves
    await db.sequelize.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
    const ready = await supertest(t.app).get('/readyz').expect(503);
    expect(ready.body.checks).to.deep.equal({ database: 'ok', schema: 'missing' });
    expect(ready.body.detail).to.match(
      /^schema missing: .*run the migrations \(node dist\/api\/migrate\.js up/,
    );
    expect(ready.body.migrations).to.deep.equal({ applied: 0, expected: names.length, pending: names });

    const login = await supertest(t.app)
      .post('/api/login/')
      .send({ email: 'someone@example.test', password: 'whatever-password' })
      .expect(503);
    expect(login.body).to.deep.equal({ detail: 'Service temporarily unavailable, try again later.' });
    expect(JSON.stringify(login.body)).to.not.match(/relation|users|SELECT/i);

    expect(await migrateUp(db.sequelize)).to.deep.equal(names);
    await supertest(t.app)
      .get('/readyz')
      .expect(200, { status: 'ok', checks: { database: 'ok', schema: 'ok' } });
    await supertest(t.app)
      .post('/api/login/')
      .send({ email: 'someone@example.test', password: 'whatever-password' })
      .expect(400);
  });

  it('answers 503 "schema behind" naming the pending migration, and recovers once migrated', async function () {
    const last = names[names.length - 1]!;
    await createMigrator(db.sequelize).down();
    const res = await supertest(t.app).get('/readyz').expect(503);
    expect(res.body.checks.schema).to.equal('behind');
    expect(res.body.detail).to.equal(
      `schema behind: 1 of ${names.length} migrations pending (${last}): run the migrations (node dist/api/migrate.js up in an API Pod, or helm upgrade)`,
    );
    expect(res.body.migrations.pending).to.deep.equal([last]);
    await migrateUp(db.sequelize);
    await supertest(t.app).get('/readyz').expect(200);
  });
});
