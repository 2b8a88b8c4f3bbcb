/**
 * The operator's /metrics on the host tier, read by a strict Prometheus text-format parser: the
 * encode duration of each completed Job (from the Job's own start and completion times), the oldest
 * Processing Video's age, Videos failed by reason, the work queue and the leader, after real Videos
 * and Jobs on the API server (Job status set as the Job controller would: no nodes here).
 */
import { expect } from 'chai';
import type { Server } from 'node:http';
import { parsePrometheus, type Metrics } from '@videoflix/testkit/prometheus';
import { createHealthServer, listen } from '../../../operator/runtime/health.js';
import { createTestNamespace } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';
import {
  applyVideoCrd,
  clients,
  createVideo,
  driveToReady,
  dropNamespace,
  ensureTranscoderServiceAccount,
  failJob,
  makeBuckets,
  s3,
  startOperator,
  waitJobs,
  waitPhase,
  type RunningOperator,
} from './helpers.js';

const PROBE = {
  durationSeconds: 8,
  width: 854,
  height: 480,
  hasAudio: true,
  videoCodec: 'h264',
  frameRate: 25,
};

describe('operator metrics: scraped and parsed after real Videos and Jobs', function () {
  this.timeout(120_000);
  const { kc, custom, batch, core } = clients();
  const storage = s3();
  let ns: string;
  let buckets: { media: string; sources: string };
  let op: RunningOperator;
  let server: Server;
  let url: string;

  const scrape = async (): Promise<Metrics> => {
    const res = await fetch(url);
    expect(res.status).to.equal(200);
    return parsePrometheus(await res.text());
  };

  before(async () => {
    await applyVideoCrd();
    buckets = await makeBuckets(storage);
    ns = await createTestNamespace(kc, 'op-metrics');
    await ensureTranscoderServiceAccount(core, ns);
    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
    const ctl = op.controller;
    server = createHealthServer({
      healthy: () => ctl.healthy(),
      ready: () => ctl.ready(),
      registry: ctl.metrics.registry,
    });
    url = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}/metrics`;
  });
  after(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await op?.stop();
    if (ns) await dropNamespace(kc, custom, ns);
  });

  const source = (name: string) => ({ bucket: buckets.sources, key: `uploads/${name}.mp4` });

  it('shows the oldest Processing Video, then each completed Job in the encode histogram by task', async () => {
    const empty = await scrape();
    expect(empty.value('videoflix_operator_processing_oldest_seconds')).to.equal(0);
    expect(empty.value('videoflix_operator_processing_past_eta_seconds')).to.equal(0);
    expect(empty.value('videoflix_operator_leader')).to.equal(1);
    expect(empty.type('videoflix_operator_workqueue_depth')).to.equal('gauge');

    await createVideo(custom, ns, 'timed', { source: source('timed'), renditions: ['480p'] });
    await waitPhase(custom, ns, 'timed', 'Processing');
    await new Promise((r) => setTimeout(r, 1100)); // at least a second old
    const processing = await scrape();
    expect(processing.value('videoflix_operator_processing_oldest_seconds')).to.be.above(1).and.below(60);
    // no progress report, hence no estimate: it does not count past its ETA
    expect(processing.value('videoflix_operator_processing_past_eta_seconds')).to.equal(0);
    expect(processing.value('videoflix_operator_videos', { phase: 'Processing' })).to.equal(1);

    await driveToReady({ custom, batch, storage, mediaBucket: buckets.media }, ns, 'timed', ['480p'], PROBE);
    await waitPhase(custom, ns, 'timed', 'Ready');
    const jobs = await Promise.all(
      ['timed-thumbnail', 'timed-480p'].map((name) => batch.readNamespacedJob({ name, namespace: ns })),
    );
    const seconds = (j: (typeof jobs)[number]) =>
      (new Date(j.status!.completionTime!).getTime() - new Date(j.status!.startTime!).getTime()) / 1000;
    const m = await waitFor(
      async () => {
        const x = await scrape();
        return x.value('videoflix_operator_encode_duration_seconds_count', { task: '480p' }) === 1
          ? x
          : undefined;
      },
      { what: 'the 480p Job in the encode histogram' },
    );
    expect(m.value('videoflix_operator_encode_duration_seconds_count', { task: 'thumbnail' })).to.equal(1);
    expect(m.value('videoflix_operator_encode_duration_seconds_sum', { task: 'thumbnail' })).to.equal(
      seconds(jobs[0]!),
    );
    expect(m.value('videoflix_operator_encode_duration_seconds_sum', { task: '480p' })).to.equal(
      seconds(jobs[1]!),
    );
    expect(
      m.value('videoflix_operator_encode_duration_seconds_bucket', { task: '480p', le: '+Inf' }),
    ).to.equal(1);
    expect(m.value('videoflix_operator_processing_oldest_seconds')).to.equal(0);
    expect(m.value('videoflix_operator_videos', { phase: 'Ready' })).to.equal(1);
    expect(m.value('videoflix_operator_jobs_created_total', { task: '480p' })).to.equal(1);
  });

  it('counts a Video that failed, by reason, once', async () => {
    const before = await scrape();
    const failed = (x: Metrics) =>
      x.value('videoflix_operator_videos_failed_total', { reason: 'InvalidSource' }) ?? 0;
    await createVideo(custom, ns, 'noise', { source: source('noise') });
    await waitJobs(batch, ns, ['noise-thumbnail']);
    await failJob(
      batch,
      ns,
      'noise-thumbnail',
      'PodFailurePolicy',
      'exit code 2 matching FailJob rule at index 0',
    );
    await waitPhase(custom, ns, 'noise', 'Failed');
    const m = await waitFor(
      async () => {
        const x = await scrape();
        return failed(x) > failed(before) ? x : undefined;
      },
      { what: 'the failure counted' },
    );
    expect(failed(m)).to.equal(failed(before) + 1);
    // later status writes of the Failed Video (events, relists) do not count it again
    await op.controller.reconcile(`${ns}/noise`);
    expect(failed(await scrape())).to.equal(failed(before) + 1);
    expect(m.value('videoflix_operator_videos', { phase: 'Failed' })).to.equal(1);
  });
});
