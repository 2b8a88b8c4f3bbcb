/**
 * Liveness (the process answers) and readiness: not shutting down, the database answers, and its schema
 * is the code's (every migration applied). A missing or outdated schema (an empty database after a
 * restore, migrations not run) makes the Pod unready with a message that says so, instead of a 500 on
 * every request. The schema check is one small query, its result kept `schemaCacheMs` (probes are cheap).
 */
import { Router } from 'express';
import type { Sequelize } from 'sequelize';
import { pingDb } from '../../infra/db.js';
import { schemaStatus, type SchemaStatus } from '../../infra/migrator.js';

export interface Lifecycle {
  shuttingDown: boolean;
}

export interface HealthDeps {
  sequelize: Sequelize;
  lifecycle: Lifecycle;
  /** How long a schema check's answer is reused (SCHEMA_CHECK_CACHE_MS); 0 = check on every probe. */
  schemaCacheMs?: number;
  now?: () => number;
}

/** The schema status, cached for `ttlMs`; concurrent callers share one query; failures are not kept. */
export function cachedSchemaCheck(
  check: () => Promise<SchemaStatus>,
  ttlMs: number,
  now: () => number = Date.now,
): () => Promise<SchemaStatus> {
  let last: { at: number; value: SchemaStatus } | undefined;
  let inflight: Promise<SchemaStatus> | undefined;
  return () => {
    if (last && now() - last.at < ttlMs) return Promise.resolve(last.value);
    inflight ??= check()
      .then((value) => {
        last = { at: now(), value };
        return value;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}

export function healthRouter(deps: HealthDeps): Router {
  const r = Router();
  const schema = cachedSchemaCheck(
    () => schemaStatus(deps.sequelize),
    deps.schemaCacheMs ?? 10_000,
    deps.now,
  );
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    if (deps.lifecycle.shuttingDown) {
      res.status(503).json({ status: 'shutting down' });
      return;
    }
    if (!(await pingDb(deps.sequelize))) {
      res.status(503).json({ status: 'unavailable', checks: { database: 'unreachable' } });
      return;
    }
    let s: SchemaStatus;
    try {
      s = await schema();
    } catch {
      res.status(503).json({ status: 'unavailable', checks: { database: 'ok', schema: 'unknown' } });
      return;
    }
    if (s.state !== 'current') {
      res.status(503).json({
        status: 'unavailable',
        checks: { database: 'ok', schema: s.state },
        detail: s.message,
        migrations: { applied: s.applied, expected: s.expected, pending: s.pending },
      });
      return;
    }
    res.json({ status: 'ok', checks: { database: 'ok', schema: 'ok' } });
  });
  return r;
}
