/**
 * Chunked transcoding (issue 24) on the host tier: the operator in-process against the real
 * kube-apiserver, the real job controller (Indexed Jobs, backoffLimitPerIndex, completedIndexes) and
 * versitygw. No kubelet: the test plays the transcoder (probe.json, each chunk's metadata and
 * segments, the stitch report) and the kubelet (each chunk Pod's exit: phase Succeeded, exit 0, the
 * chunk metadata as its termination message), so the job controller itself counts the indexes and
 * completes the Indexed Job.
 */
import { expect } from 'chai';
import type * as k8s from '@kubernetes/client-node';
import {
  chunkKeys,
  FINALIZER,
  GROUP,
  keys,
  PLURAL,
  REASONS,
  VERSION,
  type ChunkMetadata,
  type RenditionName,
  type Video,
} from '../../../common/video/index.js';
import { chunkMetadataFixture, stitchReportFixture } from '../../support/chunks.js';
import { apiStatus } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';
import {
  MERGE,
  completeJob,
  createVideo,
  driveToReady,
  eventsFor,
  getVideo,
  ownedJobs,
  readText,
  terminatePod,
  waitJobs,
  waitPhase,
  writeProbe,
  useOperatorSuite,
} from './helpers.js';

const RUNGS: RenditionName[] = ['480p', '720p'];
/** 150 s > the 120 s threshold: 5 chunks of 30 s (5 segments of 6 s each) per rung. */
const COUNT = 5;
const PROBE = {
  durationSeconds: 150,
  width: 1920,
  height: 1080,
  hasAudio: true,
  videoCodec: 'h264',
  frameRate: 25,
};
const CHUNKING = { thresholdSeconds: 120, chunkSeconds: 30, parallelism: 0, backoffLimitPerIndex: 2 };

describe('operator: chunked transcoding (host tier: API server, job controller, versitygw)', function () {
  this.timeout(120_000);
  const suite = useOperatorSuite('chunk', { perTest: true, operator: { chunking: CHUNKING } });
  const { custom, batch, core, storage } = suite;

  const put = (key: string, body: string, type: string) =>
    storage.putObject(suite.buckets.media, key, Buffer.from(body), undefined, { 'Content-Type': type });
  const envOf = (j: k8s.V1Job) =>
    Object.fromEntries((j.spec?.template.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
  const rendition = (v: Video, r: RenditionName) => v.status?.renditions?.find((x) => x.name === r);

  /** Creates the Video and plays its probe Job; returns its uid once the chunk Jobs exist. */
  async function probed(
    name: string,
    rungs: RenditionName[] = RUNGS,
  ): Promise<{ uid: string; chunkJobs: k8s.V1Job[] }> {
    await createVideo(custom, suite.ns, name, {
      source: { bucket: suite.buckets.sources, key: `uploads/${name}.mp4` },
      renditions: rungs,
    });
    const uid = await waitFor(
      async () => {
        const v = await getVideo(custom, suite.ns, name);
        return v.metadata.finalizers?.includes(FINALIZER) ? v.metadata.uid : undefined;
      },
      { what: `finalizer of ${name}` },
    );
    const speculative = await waitJobs(batch, suite.ns, [
      `${name}-thumbnail`,
      ...rungs.map((r) => `${name}-${r}`),
    ]);
    // the probe and the speculative rendition Jobs carry the threshold: they defer when the source is long
    for (const j of speculative)
      expect(envOf(j), j.metadata?.name).to.include({ CHUNK_THRESHOLD_SECONDS: '120', CHUNK_SECONDS: '30' });
    // no chunk Job before the probe Job is Complete
    expect((await ownedJobs(batch, suite.ns)).map((j) => j.metadata?.name)).to.not.include(
      `${name}-480p-chunks`,
    );
    await writeProbe(storage, suite.buckets.media, uid, PROBE);
    await completeJob(batch, suite.ns, `${name}-thumbnail`);
    const all = await waitJobs(
      batch,
      suite.ns,
      rungs.map((r) => `${name}-${r}-chunks`),
    );
    return { uid, chunkJobs: all.filter((j) => j.metadata?.name?.endsWith('-chunks')) };
  }

  /** Plays chunk `index` of rendition `r`: its segments and metadata in S3, then its Pod's exit. */
  async function playChunk(name: string, uid: string, r: RenditionName, index: number, meta: ChunkMetadata) {
    for (const s of meta.segments) await put(keys.segment(uid, r, s.name), `ts ${s.name}`, 'video/MP2T');
    await put(chunkKeys.chunkMeta(uid, r, index), JSON.stringify(meta), 'application/json');
    // the kubelet's report of the chunk Pod's exit: Succeeded, exit 0, its metadata as the message
    await terminatePod(core, suite.ns, `${name}-${r}-chunks`, 0, JSON.stringify(meta), index);
  }

  it('an Indexed Job per rung after the probe, chunks counted from the job controller, stitch, index.m3u8 from the chunks, Ready', async () => {
    const name = 'long';
    const { uid, chunkJobs } = await probed(name);
    for (const j of chunkJobs) {
      const r = j.metadata!.labels!['media.videoflix.io/rendition'] as RenditionName;
      expect(j.metadata?.name).to.equal(`${name}-${r}-chunks`);
      expect(j.spec).to.include({
        completionMode: 'Indexed',
        completions: COUNT,
        parallelism: COUNT,
        backoffLimitPerIndex: 2,
        maxFailedIndexes: 0,
      });
      expect(j.spec?.podFailurePolicy?.rules.map((x) => x.action)).to.deep.equal(['FailJob', 'Ignore']);
      expect(j.spec?.template.spec?.containers[0]?.args).to.deep.equal(['chunk', r]);
      expect(envOf(j)).to.include({ CHUNK_SECONDS: '30', CHUNK_COUNT: String(COUNT) });
      expect(j.metadata?.ownerReferences?.[0]).to.include({ kind: 'Video', uid, controller: true });
    }
    // the speculative single Jobs deferred (wrote nothing): deleted, so one Job per resolution remains
    await waitFor(
      async () => {
        const names = (await ownedJobs(batch, suite.ns)).map((j) => j.metadata?.name);
        return !names.includes(`${name}-480p`) && !names.includes(`${name}-720p`);
      },
      { timeoutMs: 20_000, what: 'the speculative rendition Jobs deleted' },
    );
    const started = await getVideo(custom, suite.ns, name);
    expect(rendition(started, '480p')).to.deep.include({
      phase: 'Running',
      chunks: { done: 0, total: COUNT },
    });
    expect(started.status).to.include({ chunksSummary: `0/${2 * COUNT}` });

    const metas = new Map(
      RUNGS.map((r) => [r, Array.from({ length: COUNT }, (_, i) => chunkMetadataFixture(r, i, COUNT))]),
    );
    // two chunks of 480p: the job controller's completedIndexes → the status's chunks done
    await playChunk(name, uid, '480p', 3, metas.get('480p')![3]!);
    await playChunk(name, uid, '480p', 0, metas.get('480p')![0]!);
    const partly = await waitFor(
      async () => {
        const v = await getVideo(custom, suite.ns, name);
        return rendition(v, '480p')?.chunks?.done === 2 ? v : undefined;
      },
      // well within the test operator's 30 s resync: the Job informer must pass completedIndexes on
      { timeoutMs: 10_000, what: '480p: 2 chunks done' },
    );
    expect(rendition(partly, '480p')?.progress?.percent).to.equal(40);
    expect(partly.status?.phase).to.equal('Processing');
    expect((await ownedJobs(batch, suite.ns)).map((j) => j.metadata?.name)).to.not.include(
      `${name}-480p-stitch`,
    );

    for (const r of RUNGS)
      for (let i = 0; i < COUNT; i++)
        if (!(r === '480p' && (i === 0 || i === 3))) await playChunk(name, uid, r, i, metas.get(r)![i]!);

    // the job controller completes each Indexed Job → the operator starts its stitch Job
    const stitches = await waitJobs(batch, suite.ns, [`${name}-480p-stitch`, `${name}-720p-stitch`], 60_000);
    for (const r of RUNGS) {
      const s = stitches.find((j) => j.metadata?.name === `${name}-${r}-stitch`)!;
      expect(s.spec?.template.spec?.containers[0]?.args).to.deep.equal(['stitch', r]);
      expect(envOf(s)).to.include({ CHUNK_COUNT: String(COUNT) });
      expect(s.spec?.completionMode).to.equal('NonIndexed'); // the API server's default: one Pod
      await put(
        chunkKeys.stitchReport(uid, r),
        JSON.stringify(stitchReportFixture(r, COUNT)),
        'application/json',
      );
      await completeJob(batch, suite.ns, `${name}-${r}-stitch`);
    }

    const ready = await waitPhase(custom, suite.ns, name, 'Ready', 30_000);
    expect(ready.status).to.include({ renditionsSummary: '2/2', chunksSummary: `${2 * COUNT}/${2 * COUNT}` });
    for (const r of RUNGS) {
      expect(rendition(ready, r)).to.deep.include({
        phase: 'Succeeded',
        job: `${name}-${r}-chunks`,
        playlistKey: keys.playlist(uid, r),
        chunks: { done: COUNT, total: COUNT },
      });
      const playlist = await readText(storage, suite.buckets.media, keys.playlist(uid, r));
      const segments = playlist.split('\n').filter((l) => l.startsWith('segment_'));
      expect(segments).to.deep.equal(metas.get(r)!.flatMap((c) => c.segments.map((s) => s.name)));
      expect(playlist)
        .to.match(/^#EXTM3U\n/)
        .and.include('#EXT-X-PLAYLIST-TYPE:VOD')
        .and.match(/#EXT-X-ENDLIST\n$/);
      const meta = JSON.parse(
        await readText(storage, suite.buckets.media, keys.renditionMeta(uid, r)),
      ) as Record<string, unknown>;
      expect(meta).to.include({ name: r, segmentCount: COUNT * 5, durationSeconds: 150, hasAudio: true });
    }
    const master = await readText(storage, suite.buckets.media, keys.master(uid));
    expect(master.match(/^#EXT-X-STREAM-INF:/gm)).to.have.length(2);
    expect(master)
      .to.include('RESOLUTION=854x480')
      .and.include('480p/index.m3u8')
      .and.include('720p/index.m3u8');
    const reasons = (await eventsFor(core, suite.ns, name)).map((e) => e.reason);
    expect(reasons).to.include.members([REASONS.chunksStitched, REASONS.playlistWritten]);
  });

  /** Plays every chunk of rendition `r`, then its stitch Job (the report in S3, the Job Complete). */
  async function encodeChunked(name: string, uid: string, r: RenditionName) {
    for (let i = 0; i < COUNT; i++) await playChunk(name, uid, r, i, chunkMetadataFixture(r, i, COUNT));
    await waitJobs(batch, suite.ns, [`${name}-${r}-stitch`], 60_000);
    await put(
      chunkKeys.stitchReport(uid, r),
      JSON.stringify(stitchReportFixture(r, COUNT)),
      'application/json',
    );
    await completeJob(batch, suite.ns, `${name}-${r}-stitch`);
  }

  it('a rung added to a Ready chunked Video: its own chunk Job and stitch, no single Job, the master rewritten with it', async () => {
    const name = 'grow';
    const { uid } = await probed(name, ['480p']);
    await encodeChunked(name, uid, '480p');
    await waitPhase(custom, suite.ns, name, 'Ready', 30_000);
    expect(
      (await readText(storage, suite.buckets.media, keys.master(uid))).match(/^#EXT-X-STREAM-INF:/gm),
    ).to.have.length(1);

    await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: suite.ns,
        plural: PLURAL,
        name,
        body: { spec: { renditions: ['480p', '720p'] } },
      },
      MERGE,
    );
    await waitJobs(batch, suite.ns, [`${name}-720p-chunks`]);
    const names = (await ownedJobs(batch, suite.ns)).map((j) => j.metadata?.name);
    expect(names).to.not.include(`${name}-720p`); // the plan is known: no speculative single Job
    const meanwhile = await getVideo(custom, suite.ns, name);
    expect(meanwhile.status?.phase).to.equal('Ready'); // still playable with 480p
    expect(rendition(meanwhile, '720p')).to.deep.include({
      phase: 'Running',
      chunks: { done: 0, total: COUNT },
    });

    await encodeChunked(name, uid, '720p');
    const done = await waitFor(
      async () => {
        const v = await getVideo(custom, suite.ns, name);
        const t = v.status?.conditions?.find((c) => c.type === 'Transcoded');
        return t?.status === 'True' && t.observedGeneration === 2 ? v : undefined;
      },
      { timeoutMs: 30_000, what: 'Transcoded=True for generation 2' },
    );
    expect(done.status).to.include({ phase: 'Ready', renditionsSummary: '2/2' });
    const master = await readText(storage, suite.buckets.media, keys.master(uid));
    expect(master.match(/^#EXT-X-STREAM-INF:/gm)).to.have.length(2);
    expect(master).to.include('480p/index.m3u8').and.include('720p/index.m3u8');
  });

  it('a gap at a join fails the Video with ChunkCheckFailed and stops the other rung', async () => {
    const name = 'gap';
    const { uid } = await probed(name);
    for (let i = 0; i < COUNT; i++)
      // chunk 2 starts one frame late: a gap of 3600 ticks at join 1→2
      await playChunk(
        name,
        uid,
        '480p',
        i,
        chunkMetadataFixture('480p', i, COUNT, { shiftTicks: i >= 2 ? 3600 : 0 }),
      );
    await waitJobs(batch, suite.ns, [`${name}-480p-stitch`], 60_000);
    // the stitch Pod only rewrites counters and reports; the operator's own check finds the gap
    await put(
      chunkKeys.stitchReport(uid, '480p'),
      JSON.stringify(stitchReportFixture('480p', COUNT)),
      'application/json',
    );
    await completeJob(batch, suite.ns, `${name}-480p-stitch`);
    const failed = await waitPhase(custom, suite.ns, name, 'Failed', 30_000);
    const cond = failed.status?.conditions?.find((c) => c.type === 'Failed');
    expect(cond?.reason).to.equal(REASONS.chunkCheckFailed);
    expect(cond?.message).to.match(
      /^rendition 480p: chunk 2 segment_010\.ts: video PTS gap of 3600 ticks at the join 1→2/,
    );
    expect(failed.status?.masterPlaylistKey).to.equal(undefined);
    await waitFor(
      async () => !(await ownedJobs(batch, suite.ns)).some((j) => j.metadata?.name === `${name}-720p-chunks`),
      { timeoutMs: 20_000, what: 'the 720p chunk Job deleted' },
    );
    const events = await eventsFor(core, suite.ns, name);
    expect(events.some((e) => e.type === 'Warning' && e.reason === REASONS.chunkCheckFailed)).to.equal(true);
  });

  it('a chunk with bad input (exit 2) fails its Indexed Job at once (podFailurePolicy): the Video fails fast', async () => {
    const name = 'badchunk';
    const { uid } = await probed(name);
    await playChunk(name, uid, '480p', 0, chunkMetadataFixture('480p', 0, COUNT));
    // chunk 2's Pod: the transcoder found the source unreadable there
    await terminatePod(
      core,
      suite.ns,
      `${name}-480p-chunks`,
      2,
      'source unreadable at 60 s: Invalid data',
      2,
    );
    const failed = await waitPhase(custom, suite.ns, name, 'Failed', 30_000);
    const cond = failed.status?.conditions?.find((c) => c.type === 'Failed');
    expect(cond).to.include({ reason: REASONS.invalidSource });
    expect(cond?.message).to.match(/^rendition 480p: /);
    expect(rendition(failed, '480p')).to.deep.include({ phase: 'Failed', chunks: { done: 1, total: COUNT } });
    // no second Pod for that index, and the sibling rung's Job goes
    await waitFor(
      async () => !(await ownedJobs(batch, suite.ns)).some((j) => j.metadata?.name === `${name}-720p-chunks`),
      { timeoutMs: 20_000, what: 'the 720p chunk Job deleted' },
    );
  });

  it('below the threshold nothing changes: one Job per rung, no chunk Job, Ready', async () => {
    const name = 'short';
    await createVideo(custom, suite.ns, name, {
      source: { bucket: suite.buckets.sources, key: `uploads/${name}.mp4` },
      renditions: RUNGS,
    });
    await driveToReady({ custom, batch, storage, mediaBucket: suite.buckets.media }, suite.ns, name, RUNGS, {
      ...PROBE,
      durationSeconds: 30,
    });
    const ready = await waitPhase(custom, suite.ns, name, 'Ready', 30_000);
    expect(ready.status?.chunksSummary).to.equal(undefined);
    expect(ready.status?.renditions?.map((r) => [r.name, r.phase, r.job, r.chunks])).to.deep.equal([
      ['480p', 'Succeeded', `${name}-480p`, undefined],
      ['720p', 'Succeeded', `${name}-720p`, undefined],
    ]);
    expect((await ownedJobs(batch, suite.ns)).map((j) => j.metadata?.name).sort()).to.deep.equal([
      `${name}-480p`,
      `${name}-720p`,
      `${name}-thumbnail`,
    ]);
  });

  it('spec.chunking is validated and immutable', async () => {
    const source = { bucket: suite.buckets.sources, key: 'uploads/x.mp4' };
    let err: unknown;
    await createVideo(custom, suite.ns, 'bad', { source, chunking: { chunkSeconds: 0 } }).catch(
      (e: unknown) => (err = e),
    );
    expect(apiStatus(err)).to.equal(422);
    await createVideo(custom, suite.ns, 'fixed', {
      source,
      chunking: { thresholdSeconds: 60, parallelism: 2 },
    });
    const patch = (body: object) =>
      custom
        .patchNamespacedCustomObject(
          { group: GROUP, version: VERSION, namespace: suite.ns, plural: PLURAL, name: 'fixed', body },
          MERGE,
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
    const changed = await patch({ spec: { chunking: { parallelism: 3 } } });
    expect(apiStatus(changed)).to.equal(422);
    expect(String((changed as { body?: unknown }).body)).to.contain('spec.chunking is immutable');
    expect(apiStatus(await patch({ spec: { chunking: null } }))).to.equal(422);
    expect(await patch({ spec: { title: 'still editable' } })).to.equal(undefined);
  });
});
