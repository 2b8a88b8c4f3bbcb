/**
 * Fault 6 (issue 20): the bundled stateful services restarted (their Pod deleted) on the platform of
 * `make dev`. PostgreSQL: every user, session and catalog row is still there; while it is gone the API
 * answers 503 with a clear body (never 500, never a hang), recovers without being restarted, and the status
 * update of a Video processed meanwhile is not lost. S3: every object is still there. RabbitMQ: durable
 * queues and their persistent messages are kept.
 */
import { expect } from 'chai';
import { createMediaDir, type MediaDir } from '../support/media.js';
import { waitFor } from '../support/waiters.js';
import {
  componentEnv,
  deletePod,
  forwardToPod,
  Outcomes,
  Platform,
  readyPod,
  scenario,
  seconds,
  sleep,
  videoResource,
  waitForReplacement,
  withBroker,
  type PodInfo,
  faultIt,
} from './support.js';

const OUTAGE_LIMIT_MS = 5 * 60_000;
/** A status update that waited for the database lands this soon after it is back (not by the 300 s resync). */
const CATALOG_LAG_MAX_S = Number(process.env.FAULTS_CATALOG_LAG_MAX_S ?? 30);

describe('fault 6: stateful services restarted', function () {
  let p: Platform;
  let media: MediaDir;
  const tag = Date.now().toString(36);

  before(async function () {
    this.timeout(90 * 60_000); // a cold `hack/dev.sh up`
    p = await Platform.open();
    media = await createMediaDir('videoflix-faults-6-');
  });

  after(async function () {
    await media?.cleanup();
    await p?.close();
  });

  faultIt(
    '6a PostgreSQL Pod deleted: users, sessions and rows kept; 503 with a body meanwhile; no lost update',
    async function () {
      const fig = scenario(
        this,
        '6a',
        'PostgreSQL Pod deleted while a Video processes',
        'users, sessions, catalog rows kept; API 503 with a JSON body while the database is gone (no 500, no hang); API Pod not restarted; the in-flight Video Ready in the catalog',
      );
      const user = await p.newUser(`6a-${tag}`);
      const rowsBefore = (await p.adminList()).map((v) => v.id);
      const clip = await media.clip({ durationSec: 12, width: 640, height: 360 });
      const id = await p.upload(clip, `faults 6a ${tag}`);
      const name = await p.resourceName(id);

      const api = (await readyPod('api'))!;
      const pg = (await readyPod('postgresql'))!;
      expect(api, 'a Ready API Pod').to.not.equal(undefined);
      expect(pg, 'a Ready PostgreSQL Pod').to.not.equal(undefined);
      const fwd = await forwardToPod(api.name, Number(await componentEnv('api', 'PORT')));
      const direct = new Outcomes(); // the API Pod itself (the ingress may drop an unready Pod)
      const ingress = new Outcomes();
      const t0 = Date.now();
      let recoveredAt = 0;
      try {
        await deletePod(pg.name);
        let replaced: PodInfo | undefined;
        while (Date.now() - t0 < OUTAGE_LIMIT_MS) {
          const [d, i] = await Promise.all([
            direct.probe(() =>
              fetch(`http://127.0.0.1:${fwd.port}/api/video/`, {
                headers: { Cookie: user.session.cookie },
                signal: AbortSignal.timeout(10_000),
              }),
            ),
            ingress.probe(() => p.get('/api/video/', user.session)),
          ]);
          replaced ??= await readyPod('postgresql', pg.uid);
          if (replaced && d === '200' && i === '200') {
            recoveredAt = Date.now();
            break;
          }
          await sleep(300);
        }
      } finally {
        await fwd.stop();
      }
      fig.recoverySeconds = recoveredAt ? seconds(recoveredAt - t0) : null;
      fig.unavailableAnswers = direct.count((s) => s !== '200');
      fig.status500 = direct.count((s) => s === '500') + ingress.count((s) => s === '500');
      expect(
        recoveredAt,
        `the API answers 200 again within ${OUTAGE_LIMIT_MS / 1000} s; saw ${JSON.stringify({ direct: direct.counts, ingress: ingress.counts })}`,
      ).to.be.greaterThan(0);
      // while the database was gone: 503 with a body that says so, nothing else
      const bad = Object.keys(direct.counts).filter((s) => s !== '200' && s !== '503');
      expect(
        bad,
        `the API Pod's answers while the database was gone: ${JSON.stringify(direct.counts)} ${JSON.stringify(direct.bodies)}`,
      ).to.deep.equal([]);
      expect(direct.counts['503'] ?? 0, 'requests answered while the database was gone').to.be.greaterThan(0);
      expect(() => JSON.parse(direct.bodies['503']!), `a JSON body: ${direct.bodies['503']}`).to.not.throw();
      expect(direct.bodies['503']).to.match(/database|unavailable/i);
      const ingressBad = Object.keys(ingress.counts).filter((s) => !['200', '503'].includes(s));
      expect(
        ingressBad,
        `answers through the ingress: ${JSON.stringify(ingress.counts)} ${JSON.stringify(ingress.bodies)}`,
      ).to.deep.equal([]);

      // the API recovered by itself: same Pod, no container restart
      const apiAfter = await readyPod('api');
      fig.apiRestarts = apiAfter ? apiAfter.restarts - api.restarts : null;
      expect(apiAfter?.uid, 'the same API Pod serves').to.equal(api.uid);
      expect(apiAfter?.restarts, 'API container restarts').to.equal(api.restarts);

      // users, sessions and rows are still there
      const refreshed = await fetch(`${p.api}/api/token/refresh/`, {
        method: 'POST',
        headers: { Cookie: user.session.cookie, Origin: p.api },
        signal: AbortSignal.timeout(15_000),
      });
      expect(
        refreshed.status,
        `the session from before the restart refreshes: ${await refreshed.clone().text()}`,
      ).to.equal(200);
      await p.login(user.email, user.password); // the user row and its password hash
      const rowsAfter = new Set((await p.adminList()).map((v) => v.id));
      const lostRows = rowsBefore.filter((r) => !rowsAfter.has(r));
      fig.lostRows = lostRows.length;
      expect(lostRows, 'catalog rows lost').to.deep.equal([]);

      // the Video processed across the outage reaches Ready in the catalog soon after the operator says so
      const row = await p.waitPhase(id, 'Ready');
      const catalogReadyAt = Date.now();
      const v = await videoResource(name);
      const readyAt = Date.parse(
        v.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '',
      );
      const lag = seconds(catalogReadyAt - Math.max(readyAt || 0, recoveredAt));
      fig.catalogLagSeconds = lag;
      fig.lostUpdates = lag > CATALOG_LAG_MAX_S ? 1 : 0;
      expect(row.phase).to.equal('Ready');
      expect(
        lag,
        `seconds from the operator's Ready (or the database's return) to the catalog's`,
      ).to.be.at.most(CATALOG_LAG_MAX_S);
    },
  );

  faultIt(
    '6b S3 server Pod deleted: every object kept; the API serves the media again without a restart',
    async function () {
      const fig = scenario(
        this,
        '6b',
        'S3 server (versitygw) Pod deleted',
        'every object of both buckets kept; streaming answers 503 (no 500, no hang) meanwhile and 200 after',
      );
      const user = await p.newUser(`6b-${tag}`);
      const ready = (await p.adminList()).find((v) => v.phase === 'Ready');
      expect(ready, 'a Ready Video on the platform (make dev uploads a sample)').to.not.equal(undefined);
      let s3 = await p.s3();
      const objectsBefore = [
        ...(await s3.list(s3.sourceBucket, '')).map((k) => `${s3.sourceBucket}/${k}`),
        ...(await s3.list(s3.mediaBucket, '')).map((k) => `${s3.mediaBucket}/${k}`),
      ];
      fig.objects = objectsBefore.length;
      const gw = (await readyPod('versitygw'))!;
      const api = (await readyPod('api'))!;
      const outcomes = new Outcomes();
      const t0 = Date.now();
      let recoveredAt = 0;
      await deletePod(gw.name);
      let replaced: PodInfo | undefined;
      while (Date.now() - t0 < OUTAGE_LIMIT_MS) {
        const s = await outcomes.probe(() => p.get(`/api/video/${ready!.id}/master.m3u8`, user.session));
        replaced ??= await readyPod('versitygw', gw.uid);
        if (replaced && s === '200') {
          recoveredAt = Date.now();
          break;
        }
        await sleep(300);
      }
      fig.recoverySeconds = recoveredAt ? seconds(recoveredAt - t0) : null;
      fig.status500 = outcomes.count((s) => s === '500');
      expect(
        recoveredAt,
        `the master playlist streams again; saw ${JSON.stringify(outcomes.counts)} ${JSON.stringify(outcomes.bodies)}`,
      ).to.be.greaterThan(0);
      expect(
        Object.keys(outcomes.counts).filter((s) => !['200', '503'].includes(s)),
        JSON.stringify(outcomes.bodies),
      ).to.deep.equal([]);

      s3 = await p.s3();
      const after = new Set([
        ...(await s3.list(s3.sourceBucket, '')).map((k) => `${s3.sourceBucket}/${k}`),
        ...(await s3.list(s3.mediaBucket, '')).map((k) => `${s3.mediaBucket}/${k}`),
      ]);
      const lost = objectsBefore.filter((k) => !after.has(k));
      fig.lostObjects = lost.length;
      expect(lost, `objects lost (of ${objectsBefore.length})`).to.deep.equal([]);
      const apiAfter = await readyPod('api');
      expect(apiAfter?.uid, 'the same API Pod serves').to.equal(api.uid);
      expect(apiAfter?.restarts, 'API container restarts').to.equal(api.restarts);
    },
  );

  faultIt('6c RabbitMQ Pod deleted: durable queues and their persistent messages kept', async function () {
    const fig = scenario(
      this,
      '6c',
      'RabbitMQ Pod deleted',
      "a durable queue's persistent messages and the API's status queue kept; broker back without help",
    );
    const apiQueue = await componentEnv('api', 'AMQP_QUEUE').catch(() => 'videoflix.api.status'); // api/config.ts's default
    const queue = `faults.durability.${tag}`;
    const bodies = ['one', 'two', 'three'].map((b) => `${b} ${tag}`);

    await withBroker('admin', async (ch) => {
      await ch.assertQueue(queue, { durable: true });
      for (const b of bodies) ch.sendToQueue(queue, Buffer.from(b), { persistent: true });
      await ch.waitForConfirms();
      await ch.checkQueue(apiQueue);
    });
    const rabbit = (await readyPod('rabbitmq'))!;
    const t0 = Date.now();
    await deletePod(rabbit.name);
    const replacement = await waitForReplacement('rabbitmq', rabbit.uid, OUTAGE_LIMIT_MS);
    fig.recoverySeconds = seconds(Date.now() - t0);
    expect(replacement.uid).to.not.equal(rabbit.uid);

    const got = await waitFor(
      () =>
        withBroker('admin', async (ch) => {
          const q = await ch.checkQueue(queue);
          const received: string[] = [];
          for (;;) {
            const m = await ch.get(queue, { noAck: true });
            if (!m) break;
            received.push(m.content.toString());
          }
          await ch.deleteQueue(queue);
          const api = await ch.checkQueue(apiQueue);
          return { count: q.messageCount, received, apiQueue: api.queue };
        }),
      { timeoutMs: 60_000, intervalMs: 2000, what: `queue ${queue} on the restarted broker` },
    );
    fig.lostMessages = bodies.filter((b) => !got.received.includes(b)).length;
    expect(got.received, `messages of durable queue ${queue} after the restart`).to.have.members(bodies);
    expect(got.apiQueue).to.equal(apiQueue);
  });
});
