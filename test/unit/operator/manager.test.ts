/**
 * The runtime's Manager: liveness (a stalled informer, a stalled worker → /healthz 503 with the
 * reason), requeue after a result, and nothing reconciled while not leading.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { Counter, Histogram, Registry } from 'prom-client';
import { createLogger } from '../../../common/logging/index.js';
import { createHealthServer, listen } from '../../../operator/runtime/health.js';
import { Informer, type KubernetesObject, type ListResult } from '../../../operator/runtime/informer.js';
import { Manager, type ManagerOptions, type ReconcileResult } from '../../../operator/runtime/manager.js';

const logger = createLogger('test', { level: 'silent' });
const MINUTE = 60_000;

function metrics() {
  const registers = [new Registry()];
  return {
    reconciles: new Counter({ name: 'r_total', help: 'r', labelNames: ['result'] as const, registers }),
    reconcileDuration: new Histogram({
      name: 'r_seconds',
      help: 'r',
      labelNames: ['result'] as const,
      registers,
    }),
  };
}

/** A real informer whose list answers `list` (no watch is reached when the list fails). */
function informer(name: string, list: () => Promise<ListResult<KubernetesObject>>) {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'http://127.0.0.1:9' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return new Informer<KubernetesObject>({
    name,
    kubeConfig: kc,
    path: '/api/v1/namespaces/ns/things',
    list,
    logger,
    backoffBaseMs: 5,
    backoffMaxMs: 20,
  });
}

function manager(over: Partial<ManagerOptions>): Manager {
  return new Manager({
    kubeConfig: new KubeConfig(),
    logger,
    identity: 'test',
    informers: [],
    keys: () => [],
    reconcile: async () => ({}),
    leaderElection: false,
    workers: 1,
    metrics: metrics(),
    ...over,
  });
}

async function healthz(m: Manager, now: number): Promise<{ status: number; text: string }> {
  const server = createHealthServer({
    healthy: () => m.healthy(now),
    ready: () => m.ready(),
    registry: new Registry(),
  });
  const port = await listen(server, 0, '127.0.0.1');
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return { status: res.status, text: await res.text() };
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

describe('operator/runtime/manager', () => {
  it('a stalled informer (no successful list or watch within the bound) makes /healthz answer 503 with the reason', async () => {
    const failing = informer('videos', () => Promise.reject(new Error('connection refused')));
    const m = manager({ informers: [failing], informerStallMs: 5 * MINUTE });
    failing.start(); // the manager's start() would wait for a sync that never comes
    try {
      const soon = await healthz(m, Date.now() + MINUTE);
      expect(soon.status).to.equal(200);
      const late = await healthz(m, Date.now() + 6 * MINUTE);
      expect(late.status).to.equal(503);
      expect(late.text).to.match(
        /^unhealthy: informer videos stalled: no successful list or watch for 3\d\d s/,
      );
    } finally {
      await failing.stop();
    }
    expect(failing.stalledFor(Date.now() + 6 * MINUTE), 'a stopped informer is not stalled').to.equal(0);
  });

  it('an informer that lists is not stalled until the bound passes without another success', async () => {
    const ok = informer('jobs', () => Promise.resolve({ items: [], metadata: { resourceVersion: '1' } }));
    ok.start();
    try {
      expect(await ok.waitForSync(5_000)).to.equal(true);
      const m = manager({ informers: [ok], informerStallMs: 5 * MINUTE });
      expect(m.healthy(Date.now() + 4 * MINUTE).ok).to.equal(true);
      expect(ok.lastSuccess).to.be.greaterThan(0);
      expect(m.healthy(ok.lastSuccess + 5 * MINUTE + 1000)).to.include({ ok: false });
    } finally {
      await ok.stop();
    }
  });

  it('a stalled worker (a reconcile in flight past the bound) makes /healthz answer 503 naming the key', async () => {
    let release!: () => void;
    const hanging = new Promise<void>((r) => (release = r));
    const started: string[] = [];
    const m = manager({
      keys: () => ['media/stuck'],
      reconcile: async (key) => {
        started.push(key);
        await hanging;
      },
      workerStallMs: 2 * MINUTE,
    });
    await m.start();
    try {
      while (started.length === 0) await new Promise((r) => setTimeout(r, 5));
      expect((await healthz(m, Date.now() + MINUTE)).status).to.equal(200);
      const late = await healthz(m, Date.now() + 3 * MINUTE);
      expect(late.status).to.equal(503);
      expect(late.text).to.match(/worker stalled: the reconcile of media\/stuck has run for 1\d\d s/);
    } finally {
      release();
      await m.stop();
    }
    expect(m.healthy(Date.now() + 3 * MINUTE).ok, 'healthy again once the reconcile ended').to.equal(true);
  });

  it('requeues a key after the delay a reconcile asked for, and forgets nothing while not leading', async () => {
    const seen: string[] = [];
    let m!: Manager;
    const done = new Promise<void>((resolve) => {
      m = manager({
        keys: () => ['media/a'],
        reconcile: async (key): Promise<ReconcileResult> => {
          seen.push(key);
          if (seen.length === 2) resolve();
          return seen.length === 1 ? { requeueAfterMs: 10 } : {};
        },
      });
    });
    m.enqueue('media/ignored'); // not leading yet: dropped (the leader lists every key)
    await m.start();
    await done;
    await m.stop();
    expect(seen).to.deep.equal(['media/a', 'media/a']);
    expect(m.isLeader).to.equal(false);
  });
});
