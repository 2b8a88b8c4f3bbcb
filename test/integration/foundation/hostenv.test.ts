/**
 * The harness itself: a second, partial environment (PostgreSQL + versitygw) in a temporary root
 * is started, used, and stopped while a client still holds a connection; afterwards no process of
 * it is left, its ports are closed and its data is gone.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Sequelize } from 'sequelize';
import {
  type HostEnv,
  isAlive,
  loadHostEnv,
  processTree,
  startHostEnv,
  straysOf,
} from '../../support/hostenv.js';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('foundation: the host environment harness', function () {
  let root = '';
  let env: HostEnv | undefined;

  before(async function () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hostenv-test-'));
  });

  after(async function () {
    await env?.stop().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('starts a partial environment and stops it leaving nothing behind', async function () {
    this.timeout(120_000);
    env = await startHostEnv({ root, components: ['postgres', 's3'], crdDirs: [] });
    expect(Object.keys(env.state.processes).sort()).to.deep.equal(['postgres', 'versitygw']);
    expect(loadHostEnv(root)?.state.startedAt).to.equal(env.state.startedAt);

    // a client that keeps a connection open: fast shutdown must not wait for it
    const db = new Sequelize(env.env.DATABASE_URL, { logging: false, pool: { min: 1, max: 1 } });
    await db.query('SELECT 1');
    const pg = env.state.processes.postgres;
    if (!pg) throw new Error('no postgres record');
    const tree = processTree(pg.pid);
    expect(tree.length, 'postmaster and its backends').to.be.greaterThan(2);
    const ports = [env.state.ports.postgres as number, env.state.ports.s3 as number];
    for (const p of ports) expect(await portOpen(p), `port ${p} open while running`).to.equal(true);

    const t0 = Date.now();
    await env.stop();
    const stopMs = Date.now() - t0;
    env = undefined;
    await db.close().catch(() => undefined);

    expect(stopMs).to.be.below(10_000);
    expect(tree.filter(isAlive), 'postgres processes alive after stop').to.deep.equal([]);
    expect(straysOf(root), 'processes working in the root after stop').to.deep.equal([]);
    for (const p of ports) expect(await portOpen(p), `port ${p} open after stop`).to.equal(false);
    expect(fs.existsSync(path.join(root, 'data')), 'data dir after stop').to.equal(false);
    expect(fs.existsSync(path.join(root, 'state.json')), 'state.json after stop').to.equal(false);
    expect(fs.readdirSync(path.join(root, 'logs'))).to.include.members([
      'postgres.log',
      'versitygw.log',
      'hostenv.log',
    ]);
  });
});
