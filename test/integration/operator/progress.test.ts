/**
 * Issue 25 (progress): the operator consumes the transcoders' progress reports from the real RabbitMQ
 * (its own exclusive queue on the progress exchange) and folds them into the Video's status on the
 * real kube-apiserver, coalesced: the status PATCHes are counted on the wire (Node's HTTP client
 * diagnostics channel), never one per report. The reconciler's own status writes (a rendition
 * finishing) and the progress writes meet on one Video without losing either.
 */
import diagnostics from 'node:diagnostics_channel';
import { expect } from 'chai';
import { createLogger } from '../../../common/logging/index.js';
import { progressQueueName } from '../../../common/grants/index.js';
import type { ProgressMessage, Video } from '../../../common/video/index.js';
import { ProgressConsumer } from '../../../operator/video/progress.js';
import { ProgressReporter } from '../../../transcoder-image/progress.js';
import { createTestNamespace, uniqueName } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';
import { MemorySink } from '../../../operator/video/publish.js';
import {
  applyVideoCrd,
  clients,
  completeJob,
  createVideo,
  dropNamespace,
  ensureTranscoderServiceAccount,
  getVideo,
  makeBuckets,
  s3,
  startOperator,
  waitJobs,
  writeProbe,
  writeRendition,
  type RunningOperator,
} from './helpers.js';

const log = createLogger('progress-test', { level: process.env.OPERATOR_TEST_LOG ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts this process's PATCHes of one Video's /status on the wire. */
function countStatusPatches(name: string) {
  const path = new RegExp(`/videos/${name}/status(\\?|$)`);
  let n = 0;
  const onStart = (msg: unknown) => {
    const req = (msg as { request: { method: string; path: string } }).request;
    if (req.method === 'PATCH' && path.test(req.path)) n++;
  };
  diagnostics.subscribe('http.client.request.start', onStart);
  return {
    get count() {
      return n;
    },
    stop: () => diagnostics.unsubscribe('http.client.request.start', onStart),
  };
}

describe('operator: progress reports folded into the status (RabbitMQ → kube-apiserver)', function () {
  this.timeout(180_000);
  const { kc, custom, batch, core } = clients();
  const storage = s3();
  const WRITE_INTERVAL_MS = 1_000;
  let ns: string;
  let buckets: { media: string; sources: string };
  let op: RunningOperator;
  let sink: MemorySink;
  let consumer: ProgressConsumer;
  let reporter: ProgressReporter;
  const exchange = uniqueName('videoflix-progress-test');

  before(async () => {
    await applyVideoCrd();
    buckets = await makeBuckets(storage);
    ns = await createTestNamespace(kc, 'op-progress');
    await ensureTranscoderServiceAccount(core, ns);
    sink = new MemorySink();
    op = await startOperator({
      namespace: ns,
      mediaBucket: buckets.media,
      sourceBucket: buckets.sources,
      sink,
      progress: { writeIntervalMs: WRITE_INTERVAL_MS },
    });
    consumer = new ProgressConsumer({
      url: process.env.AMQP_URL!,
      exchange,
      queue: progressQueueName(exchange, uniqueName('op')),
      logger: log,
      onMessage: (m) => op.controller.recordProgress(m),
    });
    consumer.start();
    await waitFor(async () => consumer.connected, { what: 'the progress consumer connected' });
    // the transcoder's side, as the program publishes (the exchange exists now: the operator declared it)
    reporter = new ProgressReporter({
      url: process.env.AMQP_URL!,
      exchange,
      intervalMs: 0,
      stepPercent: 0,
      logger: log,
    });
    reporter.start();
  });

  after(async () => {
    await reporter?.stop();
    await consumer?.stop();
    await op?.stop();
    await dropNamespace(kc, custom, ns);
  });

  const report = (
    uid: string,
    rendition: ProgressMessage['rendition'],
    percent: number,
  ): ProgressMessage => ({
    uid,
    rendition,
    percent,
    encodedSeconds: (percent / 100) * 30,
    durationSeconds: 30,
    speed: 1.5,
    etaSeconds: (((100 - percent) / 100) * 30) / 1.5,
    at: new Date().toISOString(),
  });

  it("coalesces a burst of reports into a few status writes, shows PROGRESS, keeps the reconciler's writes", async () => {
    const name = uniqueName('prog');
    await createVideo(custom, ns, name, { source: { bucket: buckets.sources, key: 'p.mp4' } });
    await waitJobs(batch, ns, [`${name}-thumbnail`]);
    const uid = (await getVideo(custom, ns, name)).metadata.uid!;
    await writeProbe(storage, buckets.media, uid, {
      durationSeconds: 30,
      width: 1280,
      height: 720,
      hasAudio: true,
    });
    await completeJob(batch, ns, `${name}-thumbnail`);
    await waitJobs(batch, ns, [`${name}-480p`, `${name}-720p`]);
    await waitFor(
      async () => {
        const v = await getVideo(custom, ns, name);
        return v.status?.renditionsSummary === '0/2' &&
          v.status.renditions?.every((r) => r.phase !== 'Pending' || r.name === '1080p')
          ? v
          : undefined;
      },
      { what: 'the Video probed, 480p and 720p running' },
    );
    await sleep(500); // the own writes' watch events settle

    await waitFor(async () => reporter.report(report(uid, '480p', 0)), { what: 'the reporter connected' });
    const patches = countStatusPatches(name);
    const started = performance.now();
    let sent = 0;
    // 4 s of reports from two transcoders, 20 per second each: 160 reports
    for (let i = 1; i <= 80; i++) {
      reporter.report(report(uid, '480p', i));
      reporter.report(report(uid, '720p', i / 2));
      sent += 2;
      await sleep(50);
    }
    const seconds = (performance.now() - started) / 1000;
    const v = await waitFor(
      async () => {
        const x = await getVideo(custom, ns, name);
        const p4 = x.status?.renditions?.find((r) => r.name === '480p')?.progress;
        const p7 = x.status?.renditions?.find((r) => r.name === '720p')?.progress;
        return p4?.percent === 80 && p7?.percent === 40 ? x : undefined;
      },
      { timeoutMs: 10_000, what: '480p and 720p at their last reported 80 % and 40 %' },
    );
    const writes = patches.count;
    patches.stop();
    const r720 = v.status!.renditions!.find((r) => r.name === '720p')!;
    expect(r720.progress?.percent).to.equal(40);
    expect(r720.progress?.speed).to.equal(1.5);
    expect(Date.parse(r720.progress!.estimatedCompletionTime!)).to.be.above(Date.now());
    expect(v.status!.progressSummary).to.equal('60%');
    // at most one write per interval (plus the one at the start of the burst), never one per report
    const bound = Math.ceil((seconds * 1000 + 2_000) / WRITE_INTERVAL_MS) + 1;
    expect(writes, `${writes} status PATCHes for ${sent} reports in ${seconds.toFixed(1)} s`).to.be.at.most(
      bound,
    );
    expect(writes).to.be.at.least(2);
    expect(op.controller.progress!.received).to.equal(sent + 1);
    console.log(
      `      ${sent} reports in ${seconds.toFixed(1)} s → ${writes} status PATCHes (interval ${WRITE_INTERVAL_MS} ms)`,
    );

    // the API hears it with the status messages
    const withProgress = sink.messages.filter((m) =>
      m.message.renditions.some((r) => r.name === '480p' && r.progress?.percent !== undefined),
    );
    expect(withProgress.length).to.be.at.least(1);
    expect(withProgress.length).to.be.at.most(writes);

    // while reports keep flowing, 480p finishes: the reconciler's write and the progress writes both land
    const flowing = (async () => {
      for (let i = 41; i <= 60; i++) {
        reporter.report(report(uid, '720p', i));
        await sleep(100);
      }
    })();
    await writeRendition(storage, buckets.media, uid, '480p');
    await completeJob(batch, ns, `${name}-480p`);
    await flowing;
    const after = await waitFor(
      async () => {
        const x = await getVideo(custom, ns, name);
        const r4 = x.status?.renditions?.find((r) => r.name === '480p');
        const r7 = x.status?.renditions?.find((r) => r.name === '720p');
        return r4?.phase === 'Succeeded' && r7?.progress?.percent === 60 ? x : undefined;
      },
      { timeoutMs: 15_000, what: '480p Succeeded and 720p at 60 %' },
    );
    const r480 = after.status!.renditions!.find((r) => r.name === '480p')!;
    expect(r480).not.to.have.property('progress');
    expect(after.status!.renditionsSummary).to.equal('1/2');
    expect(after.status!.progressSummary).to.equal('80%');

    // Ready: no progress left; a late report changes nothing
    await writeRendition(storage, buckets.media, uid, '720p');
    await completeJob(batch, ns, `${name}-720p`);
    const ready = await waitFor(
      async () => {
        const x: Video = await getVideo(custom, ns, name);
        return x.status?.phase === 'Ready' ? x : undefined;
      },
      { what: 'Ready' },
    );
    expect(ready.status!.progressSummary).to.equal(undefined);
    for (const r of ready.status!.renditions ?? []) expect(r).not.to.have.property('progress');
    reporter.report(report(uid, '720p', 99));
    await sleep(WRITE_INTERVAL_MS * 2);
    const still = await getVideo(custom, ns, name);
    expect(still.metadata.resourceVersion).to.equal(ready.metadata.resourceVersion);
  });

  it('reports of an unknown Video are ignored (no write, no memory kept)', async () => {
    const before = op.controller.progress!.size;
    reporter.report(report('no-such-uid', '480p', 10));
    await sleep(300);
    expect(op.controller.progress!.size).to.equal(before);
  });
});
