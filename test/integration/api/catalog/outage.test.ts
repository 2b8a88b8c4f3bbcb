/**
 * When object storage or the API server cannot be reached, the catalog answers 503 with a message
 * (never a bare 500) and an upload leaves nothing behind. A second app shares the harness's database
 * but talks to an S3 endpoint and a kube-apiserver that refuse connections.
 */
import { expect } from 'chai';
import type { Express } from 'express';
import supertest from 'supertest';
import { createLogger } from '../../../../common/logging/index.js';
import { createApp } from '../../../../api/app.js';
import { createCatalog } from '../../../../api/catalog/index.js';
import { KubeVideos } from '../../../../api/infra/kube.js';
import { ObjectStorage } from '../../../../api/infra/storage.js';
import { unreachableKubeConfig } from '../../../support/kube.js';
import { createMediaDir, type MediaDir } from '../../../support/media.js';
import { FRONTEND } from '../helpers/app.js';
import { freePort } from '../helpers/process.js';
import { listKeys, startHarness, type Harness } from './helpers.js';

describe('api catalog: storage or cluster unreachable', function () {
  this.timeout(120_000);
  let h: Harness;
  let media: MediaDir;
  let broken: supertest.Agent;

  before(async function () {
    h = await startHarness('outage');
    media = await createMediaDir();
    const dead = await freePort(); // nothing listens there
    const kc = unreachableKubeConfig(dead);
    const catalog = createCatalog({
      config: h.config,
      publicApiUrl: h.t.config.PUBLIC_API_URL,
      secret: h.t.config.JWT_SECRET,
      sequelize: h.db.sequelize,
      logger: createLogger('outage-test', { level: 'silent' }),
      kube: new KubeVideos(kc, h.namespace),
      storage: ObjectStorage.fromConfig(
        {
          S3_ENDPOINT: `http://127.0.0.1:${dead}`,
          S3_REGION: 'us-east-1',
          S3_ACCESS_KEY: 'a',
          S3_SECRET_KEY: 'b',
        },
        5 * 1024 * 1024,
      ),
    });
    const app = createApp({
      config: h.t.config,
      sequelize: h.db.sequelize,
      models: h.db.models,
      mailer: h.t.mailer,
      logger: createLogger('outage-test', { level: 'silent' }),
      routers: catalog.routers,
    });
    broken = supertest.agent(app as Express).set('Origin', FRONTEND);
  });
  after(async function () {
    await media?.cleanup();
    await h?.close();
  });

  it('answers 503 for HLS when storage is down', async function () {
    await h.catalog.service.applyUpdate({
      source: 'resync',
      namespace: h.namespace,
      name: 'v',
      uid: '1f1e1d1c-0000-4000-8000-000000000001',
      phase: 'Ready',
      title: 'Ready but unreachable',
      description: '',
      category: '',
      renditions: [{ name: '480p', phase: 'Succeeded' }],
      masterPlaylistKey: '1f1e1d1c-0000-4000-8000-000000000001/master.m3u8',
      thumbnailKey: '1f1e1d1c-0000-4000-8000-000000000001/thumbnail.jpg',
      resourceVersion: '10',
    });
    const row = await h.Video.findOne({ where: { title: 'Ready but unreachable' } });
    for (const p of [
      `/api/video/${row!.id}/master.m3u8`,
      `/api/video/${row!.id}/480p/index.m3u8`,
      `/api/video/${row!.id}/480p/segment_000.ts/`,
    ]) {
      const res = await broken.get(p).set('Cookie', h.userCookie);
      expect(res.status, p).to.equal(503);
      expect(res.body).to.deep.equal({ detail: 'Object storage is unavailable, try again later.' });
    }
  });

  it('answers 503 to an upload when storage is down, and leaves no row', async function () {
    const before = await h.Video.count();
    const clip = await media.clip({ durationSec: 1 });
    const res = await broken
      .post('/api/admin/videos/')
      .set('Cookie', h.adminCookie)
      .field('title', 'nowhere to go')
      .attach('file', clip);
    expect(res.status).to.equal(503);
    expect(res.body.detail).to.match(/storage is unavailable/);
    expect(await h.Video.count()).to.equal(before);
  });

  it('answers 503 when the cluster is down: upload (object and row removed again) and delete', async function () {
    // storage works (the harness's), the API server does not
    const kc = unreachableKubeConfig(await freePort());
    const catalog = createCatalog({
      config: h.config,
      publicApiUrl: h.t.config.PUBLIC_API_URL,
      secret: h.t.config.JWT_SECRET,
      sequelize: h.db.sequelize,
      logger: createLogger('outage-test', { level: 'silent' }),
      kube: new KubeVideos(kc, h.namespace),
      storage: h.catalog.storage,
    });
    const app = createApp({
      config: h.t.config,
      sequelize: h.db.sequelize,
      models: h.db.models,
      mailer: h.t.mailer,
      logger: createLogger('outage-test', { level: 'silent' }),
      routers: catalog.routers,
    });
    const agent = supertest.agent(app as Express).set('Origin', FRONTEND);
    const before = await h.Video.count();
    const clip = await media.clip({ durationSec: 1 });
    const res = await agent
      .post('/api/admin/videos/')
      .set('Cookie', h.adminCookie)
      .field('title', 'no cluster')
      .attach('file', clip);
    expect(res.status, JSON.stringify(res.body)).to.equal(503);
    expect(res.body.detail).to.match(/cluster is unavailable/);
    expect(await h.Video.count()).to.equal(before);
    expect(await listKeys(h.s3, h.sources)).to.deep.equal([]);
    const row = await h.Video.findOne({ where: { title: 'Ready but unreachable' } });
    const del = await agent.delete(`/api/admin/videos/${row!.id}/`).set('Cookie', h.adminCookie);
    expect(del.status).to.equal(503);
    expect((await h.Video.findByPk(row!.id))!.phase).to.equal('Ready');
  });
});
