/** The informer wrapper against the real API server: relist, watchdog, restart with backoff. */
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import { createLogger } from '../../../common/logging/index.js';
import { Informer, type ListResult } from '../../../operator/runtime/informer.js';
import { createTestNamespace, deleteNamespace, kubeConfig } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';

describe('operator informer (list + watch with restart, watchdog, relist)', function () {
  this.timeout(30_000);
  const kc = kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const logger = createLogger('informer-test', { level: 'silent' });
  let ns: string;
  let informer: Informer<k8s.V1ConfigMap> | undefined;

  beforeEach(async () => {
    ns = await createTestNamespace(kc, 'op-inf', { waitForServiceAccount: false });
  });

  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
    await deleteNamespace(kc, ns);
  });

  const cm = (name: string, v = '1') =>
    core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { v } } });

  function make(opts: {
    watchdogMs?: number;
    relistMs?: number;
    watchTimeoutSeconds?: number;
    list?: () => Promise<ListResult<k8s.V1ConfigMap>>;
  }) {
    const seen: string[] = [];
    const reasons: string[] = [];
    const inf = new Informer<k8s.V1ConfigMap>({
      name: 'configmaps',
      kubeConfig: kc,
      path: `/api/v1/namespaces/${ns}/configmaps`,
      list: opts.list ?? (() => core.listNamespacedConfigMap({ namespace: ns })),
      logger,
      backoffBaseMs: 50,
      backoffMaxMs: 200,
      ...(opts.watchdogMs ? { watchdogMs: opts.watchdogMs } : {}),
      ...(opts.relistMs ? { relistMs: opts.relistMs } : {}),
      ...(opts.watchTimeoutSeconds ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
      onRestart: (r) => reasons.push(r),
    });
    inf.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    inf.on('update', (o) => seen.push(`update ${o.metadata?.name}`));
    inf.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    return { inf, seen, reasons };
  }

  it('lists, then follows add/update/delete through the watch', async () => {
    await cm('before');
    const { inf, seen } = make({});
    informer = inf;
    inf.start();
    expect(await inf.waitForSync()).to.equal(true);
    expect(inf.get(`${ns}/before`)?.data?.v).to.equal('1');
    await cm('during');
    await core.replaceNamespacedConfigMap({
      name: 'before',
      namespace: ns,
      body: { metadata: { name: 'before' }, data: { v: '2' } },
    });
    await core.deleteNamespacedConfigMap({ name: 'during', namespace: ns });
    await waitFor(() => seen.includes('delete during'), { what: 'delete event' });
    expect(seen.filter((s) => !s.includes('kube-root-ca'))).to.deep.equal([
      'add before',
      'add during',
      'update before',
      'delete during',
    ]);
    expect(inf.get(`${ns}/before`)?.data?.v).to.equal('2');
    expect(inf.get(`${ns}/during`)).to.equal(undefined);
  });

  it('replaces a silent watch (watchdog) and relists periodically, keeping the cache right', async () => {
    const { inf, seen, reasons } = make({ watchdogMs: 400, relistMs: 60_000, watchTimeoutSeconds: 60 });
    informer = inf;
    inf.start();
    await inf.waitForSync();
    await waitFor(() => reasons.includes('silent'), { what: 'a watchdog restart' });
    await cm('after-watchdog');
    await waitFor(() => inf.get(`${ns}/after-watchdog`), { what: 'object seen after the watchdog restart' });
    expect(seen.filter((s) => s === 'add after-watchdog')).to.have.length(1);

    const periodic = make({ relistMs: 300, watchdogMs: 60_000 });
    await inf.stop();
    informer = periodic.inf;
    periodic.inf.start();
    await periodic.inf.waitForSync();
    await waitFor(() => periodic.reasons.includes('relist'), { what: 'a periodic relist' });
    // A relist does not replay unchanged objects as updates.
    expect(periodic.seen.filter((s) => s.startsWith('update'))).to.deep.equal([]);
  });

  it('restarts with backoff after errors and catches up on what changed meanwhile', async () => {
    let failures = 2;
    const { inf, reasons } = make({
      list: async () => {
        if (failures-- > 0) throw new Error('apiserver unavailable');
        return core.listNamespacedConfigMap({ namespace: ns });
      },
    });
    informer = inf;
    await cm('x');
    inf.start();
    expect(await inf.waitForSync(10_000)).to.equal(true);
    expect(reasons.filter((r) => r === 'error')).to.have.length(2);
    expect(inf.get(`${ns}/x`)).to.not.equal(undefined);
    expect(inf.restarts).to.equal(2);
  });
});
