/** Liveness (the process answers) and readiness (the database answers, and we are not shutting down). */
import { Router } from 'express';
import type { Sequelize } from 'sequelize';
import { pingDb } from '../../infra/db.js';

export interface Lifecycle {
  shuttingDown: boolean;
}

export function healthRouter(deps: { sequelize: Sequelize; lifecycle: Lifecycle }): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    if (deps.lifecycle.shuttingDown) {
      res.status(503).json({ status: 'shutting down' });
      return;
    }
    const db = await pingDb(deps.sequelize);
    res
      .status(db ? 200 : 503)
      .json({ status: db ? 'ok' : 'unavailable', checks: { database: db ? 'ok' : 'unreachable' } });
  });
  return r;
}
