import { expect } from 'chai';
import type { Sequelize } from 'sequelize';
import { createLogger } from '../../../../common/logging/index.js';
import type { VideoClient } from '../../../../api/infra/kube.js';
import type { ObjectStorage } from '../../../../api/infra/storage.js';
import type { VideoRow } from '../../../../api/models/video.js';
import { CatalogService } from '../../../../api/catalog/service.js';

/** CatalogService over a Video model stand-in that counts its reads. */
function service(opts: { readyCacheMs?: number; readyCacheMax?: number } = {}) {
  let now = 1_000_000;
  const rows = new Map<number, Partial<VideoRow>>();
  const reads = { n: 0 };
  const Video = {
    findByPk: (id: number) => {
      reads.n++;
      const r = rows.get(id);
      return Promise.resolve(r ? ({ ...r } as VideoRow) : null);
    },
  };
  const kube = {
    namespace: 'ns',
    list: () => Promise.reject(new Error('cluster unreachable')),
  };
  const svc = new CatalogService({
    sequelize: {} as Sequelize,
    Video: Video as unknown as typeof VideoRow,
    storage: {} as ObjectStorage,
    kube: kube as unknown as VideoClient,
    logger: createLogger('test', { level: 'silent' }),
    sourceBucket: 's',
    mediaBucket: 'm',
    uploadStaleSeconds: 60,
    now: () => now,
    ...opts,
  });
  const ready = (id: number, title = 'x') => rows.set(id, { id, title, phase: 'Ready', uid: `uid-${id}` });
  return { svc, rows, reads, ready, tick: (ms: number) => (now += ms) };
}

describe('api catalog: the Ready row cache of the media routes', function () {
  it('reads a Ready row once within readyCacheMs, again after it', async function () {
    const t = service({ readyCacheMs: 5000 });
    t.ready(1);
    expect((await t.svc.findReady(1))?.uid).to.equal('uid-1');
    expect((await t.svc.findReady(1))?.uid).to.equal('uid-1');
    t.tick(4999);
    await t.svc.findReady(1);
    expect(t.reads.n).to.equal(1);
    t.tick(2); // past readyCacheMs (lru-cache: stale once older than its ttl)
    await t.svc.findReady(1);
    expect(t.reads.n).to.equal(2);
  });

  it('keeps no answer for rows that are missing or not Ready: they count as soon as they are', async function () {
    const t = service();
    expect(await t.svc.findReady(2)).to.equal(undefined);
    t.rows.set(2, { id: 2, phase: 'Processing', uid: 'uid-2' });
    expect(await t.svc.findReady(2)).to.equal(undefined);
    t.ready(2);
    expect((await t.svc.findReady(2))?.uid).to.equal('uid-2');
    expect(t.reads.n).to.equal(3);
  });

  it('forgets every row on a write of this process, even a failed one, and counts the revision', async function () {
    const t = service();
    t.ready(1);
    await t.svc.findReady(1);
    t.rows.set(1, { id: 1, phase: 'Deleted', uid: 'uid-1' });
    const before = t.svc.revision;
    await t.svc.resync().catch(() => undefined); // kube.list fails: the write may have started, all the same
    expect(t.svc.revision).to.equal(before + 1);
    expect(await t.svc.findReady(1)).to.equal(undefined);
    expect(t.reads.n).to.equal(2);
  });

  it('does not count status news for another namespace as a write', async function () {
    const t = service();
    t.ready(1);
    await t.svc.findReady(1);
    const before = t.svc.revision;
    expect(await t.svc.applyUpdate({ namespace: 'other', uid: 'u' } as never)).to.equal('ignored');
    expect(t.svc.revision).to.equal(before);
    await t.svc.findReady(1);
    expect(t.reads.n).to.equal(1);
  });

  it('keeps at most readyCacheMax rows; 0 ms reads every time', async function () {
    const t = service({ readyCacheMax: 2 });
    for (const id of [1, 2, 3]) t.ready(id);
    for (const id of [1, 2, 3]) await t.svc.findReady(id);
    await t.svc.findReady(3);
    await t.svc.findReady(2);
    expect(t.reads.n).to.equal(3);
    await t.svc.findReady(1); // evicted as the least recently used
    expect(t.reads.n).to.equal(4);
    const off = service({ readyCacheMs: 0 });
    off.ready(1);
    await off.svc.findReady(1);
    await off.svc.findReady(1);
    expect(off.reads.n).to.equal(2);
  });
});
