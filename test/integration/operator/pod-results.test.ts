/**
 * A rendition counts done at its transcoder Pod's successful exit (its termination message carries
 * rendition.json) instead of at the Job controller's Complete condition (operator/video/pod-results.ts).
 * The host tier has the real job controller but no kubelet: the test plays the transcoder (objects in
 * versitygw) and the kubelet (the Pod's status: Succeeded, exit 0, the message), and the job
 * controller then completes the Job as it does on a cluster. Watches on the Video and the Job time
 * both paths from the Pod's exit; the figures are printed.
 */
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import {
  FINALIZER,
  GROUP,
  MAX_TERMINATION_MESSAGE_BYTES,
  PLURAL,
  REASONS,
  VERSION,
  type RenditionMetadata,
  type Video,
} from '../../../common/video/index.js';
import { MemorySink } from '../../../operator/video/publish.js';
import { createTestNamespace } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';
import {
  applyVideoCrd,
  clients,
  completeJob,
  createVideo,
  dropNamespace,
  ensureTranscoderServiceAccount,
  eventsFor,
  getVideo,
  makeBuckets,
  s3,
  startOperator,
  terminatePod,
  waitJobs,
  writeProbe,
  writeRendition,
  type RunningOperator,
} from './helpers.js';

const PROBE = { durationSeconds: 30, width: 1920, height: 1080, hasAudio: true, frameRate: 25 };
const RUNS = 5;

interface Timing {
  /** ms from the Pod's exit (the status write) to the rendition Succeeded in the Video's status. */
  counted: number;
  /** ... to the Video Ready (master playlist written). */
  ready: number;
  /** ... to the Job's Complete condition (the job controller). */
  jobComplete: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');

/** First time (performance.now()) each predicate held for an object seen by a watch. */
class FirstSeen<T> {
  readonly at = new Map<string, number>();
  private req?: AbortController;

  constructor(private readonly tests: Record<string, (o: T) => boolean>) {}

  async start(kc: k8s.KubeConfig, path: string, name: string): Promise<void> {
    this.req = await new k8s.Watch(kc).watch(
      path,
      { fieldSelector: `metadata.name=${name}` },
      (_type, obj: T) => {
        const now = performance.now();
        for (const [k, test] of Object.entries(this.tests))
          if (!this.at.has(k) && test(obj)) this.at.set(k, now);
      },
      () => undefined,
    );
  }

  stop(): void {
    this.req?.abort();
  }
}

describe('operator: a rendition done at its Pod exit (host tier: API server, job controller, versitygw)', function () {
  this.timeout(240_000);
  const { kc, custom, batch, core } = clients();
  const storage = s3();
  let ns: string;
  let buckets: { media: string; sources: string };
  let op: RunningOperator | undefined;
  let sink: MemorySink;

  before(async () => {
    await applyVideoCrd();
    buckets = await makeBuckets(storage);
    ns = await createTestNamespace(kc, 'podres');
    await ensureTranscoderServiceAccount(core, ns);
    sink = new MemorySink();
    op = await startOperator({
      namespace: ns,
      mediaBucket: buckets.media,
      sourceBucket: buckets.sources,
      sink,
    });
  });

  after(async () => {
    await op?.stop();
    await dropNamespace(kc, custom, ns);
  });

  /**
   * One Video with one rendition, probed, its rendition written to S3; then its Pod exits 0 with
   * `message(rendition.json)` as termination message. Resolves once the Video is Ready and the Job
   * Complete, with the times from the Pod's exit.
   */
  async function exitAndTime(
    name: string,
    message: (meta: RenditionMetadata) => string,
  ): Promise<Timing & { uid: string }> {
    await createVideo(custom, ns, name, {
      source: { bucket: buckets.sources, key: `uploads/${name}.mp4` },
      renditions: ['480p'],
    });
    const uid = await waitFor(
      async () => {
        const v = await getVideo(custom, ns, name);
        return v.metadata.finalizers?.includes(FINALIZER) ? v.metadata.uid : undefined;
      },
      { what: `finalizer of ${name}` },
    );
    await waitJobs(batch, ns, [`${name}-thumbnail`, `${name}-480p`]);
    await writeProbe(storage, buckets.media, uid, PROBE);
    await completeJob(batch, ns, `${name}-thumbnail`);
    await waitFor(async () => !!(await getVideo(custom, ns, name)).status?.source?.height, {
      what: `${name} probed`,
    });
    const meta = await writeRendition(storage, buckets.media, uid, '480p');

    const video = new FirstSeen<Video>({
      counted: (v) => v.status?.renditions?.find((r) => r.name === '480p')?.phase === 'Succeeded',
      ready: (v) => v.status?.phase === 'Ready',
    });
    const job = new FirstSeen<k8s.V1Job>({
      complete: (j) => !!j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'),
    });
    await video.start(kc, `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`, name);
    await job.start(kc, `/apis/batch/v1/namespaces/${ns}/jobs`, `${name}-480p`);
    try {
      // the kubelet's status write of the exit (the Pod of the real job controller)
      const exited = performance.now();
      await terminatePod(core, ns, `${name}-480p`, 0, message(meta));
      await waitFor(() => video.at.has('ready') && job.at.has('complete'), {
        timeoutMs: 30_000,
        intervalMs: 20,
        what: `${name}: Ready (${String(video.at.has('ready'))}) and its Job Complete (${String(job.at.has('complete'))})`,
      });
      return {
        uid,
        counted: video.at.get('counted')! - exited,
        ready: video.at.get('ready')! - exited,
        jobComplete: job.at.get('complete')! - exited,
      };
    } finally {
      video.stop();
      job.stop();
    }
  }

  /** The master playlist was written once and Ready published once, also after the Job completed. */
  async function expectOneMasterAndOneReady(name: string, uid: string): Promise<void> {
    await new Promise((r) => setTimeout(r, 1_000)); // the Job's Complete event reconciled meanwhile
    const written = (await eventsFor(core, ns, name)).filter((e) => e.reason === REASONS.playlistWritten);
    expect(
      written.reduce((n, e) => n + (e.count ?? 1), 0),
      `${name}: PlaylistWritten events`,
    ).to.equal(1);
    const ready = sink.messages.filter((m) => m.message.uid === uid && m.message.phase === 'Ready');
    expect(ready, `${name}: Ready status messages`).to.have.length(1);
  }

  it('counts the rendition at the Pod exit, sooner than via the Job Complete condition; master written once', async () => {
    const byPod: Timing[] = [];
    const byJob: Timing[] = [];
    for (let i = 0; i < RUNS; i++) {
      // alternated, so that both paths see the same load
      const p = await exitAndTime(`pod-${i}`, (meta) => JSON.stringify(meta));
      await expectOneMasterAndOneReady(`pod-${i}`, p.uid);
      byPod.push(p);
      // no message: a transcoder whose rendition.json did not fit in 4 KiB (or an older image)
      const j = await exitAndTime(`job-${i}`, () => '');
      await expectOneMasterAndOneReady(`job-${i}`, j.uid);
      byJob.push(j);
      // without the message the rendition can only count once the Job is Complete
      expect(j.counted, 'fallback counted after the Job Complete').to.be.at.least(j.jobComplete - 1);
    }
    const line = (label: string, ts: Timing[]) =>
      `${label}: rendition counted median ${median(ts.map((t) => t.counted)).toFixed(0)} ms (${fmt(ts.map((t) => t.counted))}), Ready median ${median(ts.map((t) => t.ready)).toFixed(0)} ms, the Job's Complete median ${median(ts.map((t) => t.jobComplete)).toFixed(0)} ms (${fmt(ts.map((t) => t.jobComplete))})`;
    process.stdout.write(
      `      [pod-results] from the Pod's exit (status write), ${RUNS} runs each:\n` +
        `      ${line('via the termination message', byPod)}\n` +
        `      ${line('via the Job Complete condition', byJob)}\n`,
    );
    expect(median(byPod.map((t) => t.counted))).to.be.below(median(byJob.map((t) => t.counted)));
    // at least once the Pod's message was faster than the job controller's Complete
    expect(byPod.some((t) => t.counted < t.jobComplete)).to.equal(true);
  });

  it('ignores a malformed, foreign or oversized message: the Job Complete condition counts it, no crash', async () => {
    const bad: Array<[string, (meta: RenditionMetadata) => string]> = [
      ['garbage', () => 'not json {'],
      ['other-rung', (meta) => JSON.stringify({ ...meta, name: '720p' })],
      ['oversized', (meta) => JSON.stringify({ ...meta, pad: 'x'.repeat(MAX_TERMINATION_MESSAGE_BYTES) })],
    ];
    for (const [name, message] of bad) {
      const t = await exitAndTime(`bad-${name}`, message);
      expect(t.counted, `${name}: counted only after the Job Complete`).to.be.at.least(t.jobComplete - 1);
      await expectOneMasterAndOneReady(`bad-${name}`, t.uid);
    }
    expect(op!.controller.healthy().ok).to.equal(true);
  });
});
