/**
 * The set-up every API test file shares: a fresh database (its own, dropped afterwards) and the real app
 * on it, built once for the file; the app's clock set back after each test; mail and database closed at
 * the end. Call it in a `describe` body; `bind` receives both once they exist (before the first test):
 *
 *   let db: TestDatabase;
 *   let t: TestApp;
 *   useTestApp('login', {}, (e) => ({ db, t } = e));
 */
import { buildTestApp, type ConfigOverrides, type TestApp } from './app.js';
import { freshDatabase, type TestDatabase } from './db.js';

export interface TestEnv {
  db: TestDatabase;
  t: TestApp;
}

export function useTestApp(label: string, overrides: ConfigOverrides, bind: (env: TestEnv) => void): void {
  let env: TestEnv | undefined;
  before(async function () {
    const db = await freshDatabase(label);
    env = { db, t: buildTestApp(db, overrides) };
    bind(env);
  });
  afterEach(function () {
    if (env) env.t.clock.offsetMs = 0;
  });
  after(async function () {
    env?.t.mailer.close();
    await env?.db.drop();
  });
}
