/**
 * A dependency that accepts connections and never answers (its process frozen with SIGSTOP): the
 * API answers 503 within its timeout instead of hanging, and recovers once the process runs again
 * (SIGCONT). Private host tier only: freezing a shared server would stall every other run.
 */
import { expect } from 'chai';
import supertest from 'supertest';
import type { Express } from 'express';
import { hostEnv, isSharedHostEnv } from '../../../support/hostenv.js';
import { FRONTEND } from '../helpers/app.js';
import { startHarness, type Harness } from './helpers.js';

/** SIGSTOPs a host-tier process; the returned function SIGCONTs it (idempotent). */
function freeze(name: string): () => void {
  const rec = hostEnv().state.processes[name];
  if (!rec) throw new Error(`no host-tier process ${name}`);
  process.kill(rec.pid, 'SIGSTOP');
  let thawed = false;
  return () => {
    if (thawed) return;
    thawed = true;
    process.kill(rec.pid, 'SIGCONT');
  };
}

describe('api catalog: a frozen object store (SIGSTOP)', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async function () {
    if (isSharedHostEnv()) this.skip();
    h = await startHarness('frozen', { S3_TIMEOUT_MS: '1500' });
  });
  after(async function () {
    await h?.close();
  });

  it('answers 503 within S3_TIMEOUT_MS while versitygw is frozen, and serves again after SIGCONT', async function () {
    const uid = '2f1e1d1c-0000-4000-8000-000000000002';
    await h.catalog.service.applyUpdate({
      source: 'resync',
      namespace: h.namespace,
      name: 'frozen',
      uid,
      phase: 'Ready',
      title: 'Frozen store',
      description: '',
      category: '',
      renditions: [{ name: '480p', phase: 'Succeeded' }],
      masterPlaylistKey: `${uid}/master.m3u8`,
      thumbnailKey: `${uid}/thumbnail.jpg`,
      resourceVersion: '10',
    });
    const body = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000,RESOLUTION=854x480\n480p/index.m3u8\n';
    await h.s3.putObject(h.media, `${uid}/master.m3u8`, Buffer.from(body));
    const row = await h.Video.findOne({ where: { uid } });
    const agent = supertest.agent(h.t.app as Express).set('Origin', FRONTEND);
    // a segment: streamed from the store on every request (playlists are cached in memory)
    await h.s3.putObject(h.media, `${uid}/480p/segment_000.ts`, Buffer.alloc(188 * 10, 0x47));
    const path = `/api/video/${row!.id}/480p/segment_000.ts/`;
    expect((await agent.get(path).set('Cookie', h.userCookie)).status).to.equal(200);

    const thaw = freeze('versitygw');
    let status: number;
    let ms: number;
    try {
      const started = Date.now();
      const res = await agent.get(path).set('Cookie', h.userCookie).timeout(20_000);
      ms = Date.now() - started;
      status = res.status;
      expect(res.status).to.equal(503);
      expect(res.body).to.deep.equal({ detail: 'Object storage is unavailable, try again later.' });
    } finally {
      thaw();
    }
    expect(status).to.equal(503);
    // the 1.5 s idle timeout, maybe twice (a keep-alive socket first), never the 20 s of the client
    expect(ms).to.be.below(10_000);
    const again = await agent.get(path).set('Cookie', h.userCookie);
    expect(again.status).to.equal(200);
  });
});
