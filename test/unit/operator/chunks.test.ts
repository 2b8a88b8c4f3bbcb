/** Chunked transcoding (issue 24), the operator's side: the Jobs it builds and the pure decisions. */
import type { V1Job } from '@kubernetes/client-node';
import { expect } from 'chai';
import { chunkKeys, EXIT_CODES, keys, type Video, type VideoStatus } from '../../../common/video/index.js';
import { operatorSchema, jobSettingsFrom } from '../../../operator/config.js';
import {
  chunksDone,
  decide,
  needsChunkMetadata,
  needsRenditionMetadata,
  type Observed,
} from '../../../operator/video/decide.js';
import {
  buildChunksJob,
  buildJob,
  buildStitchJob,
  chunksJobName,
  stitchJobName,
  type JobSettings,
} from '../../../operator/video/jobs.js';
import { jobChangeMatters } from '../../../operator/video/owned-jobs.js';
import { JOB_COMPLETION_INDEX_LABEL, slimPod } from '../../../operator/video/pod-results.js';
import { chunkMetadataFixture, stitchReportFixture } from '../../support/chunks.js';
import { job, jobs, meta, NOW, obs, settings, UID, video } from './fixtures.js';

const chunked: JobSettings = {
  ...settings,
  chunking: { thresholdSeconds: 120, chunkSeconds: 30, parallelism: 0, backoffLimitPerIndex: 2 },
};
const S = { jobs: chunked };
const RUNGS = { renditions: ['480p', '720p'] as Array<'480p' | '720p'> };
/** A 5-minute 1080p source, probed: 300 s in chunks of 30 s = 10 chunks per rung (segments of 6 s). */
const probed: VideoStatus = {
  phase: 'Processing',
  source: { durationSeconds: 300, width: 1920, height: 1080, hasAudio: true },
  renditions: [
    { name: '480p', phase: 'Running', job: 'demo-480p' },
    { name: '720p', phase: 'Running', job: 'demo-720p' },
  ],
};
const long = (status: VideoStatus = probed) => video({}, RUNGS, status);
const types = (d: ReturnType<typeof decide>) =>
  d.actions.map((a) =>
    a.type === 'CreateJob'
      ? `CreateJob:${a.job.metadata?.name}`
      : a.type === 'DeleteJobs'
        ? `DeleteJobs:${a.names.join(',')}`
        : a.type === 'WriteRendition'
          ? `WriteRendition:${a.rendition}`
          : a.type,
  );
const envOf = (j: V1Job) =>
  Object.fromEntries((j.spec?.template.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
const indexed = (name: string, completedIndexes?: string, cond?: 'Complete' | 'Failed', reason?: string) => {
  const j = job(name, cond, reason);
  j.status = { ...j.status, ...(completedIndexes !== undefined ? { completedIndexes } : {}) };
  return j;
};
const deferred = () => [
  job('demo-thumbnail', 'Complete'),
  job('demo-480p', 'Complete'),
  job('demo-720p', 'Complete'),
];

const chunkMeta = (r: '480p' | '720p', i: number, count = 10) => chunkMetadataFixture(r, i, count);
const report = (r: '480p' | '720p', count = 10) => stitchReportFixture(r, count);
const readout = (r: '480p' | '720p', chunks = Array.from({ length: 10 }, (_, i) => chunkMeta(r, i))) => ({
  ok: { chunks, report: report(r) },
});

describe('operator/video: chunked transcoding (issue 24)', () => {
  describe('settings', () => {
    it('CHUNK_* come from the environment with safe defaults', () => {
      const base = { S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b' };
      const c = operatorSchema.parse(base);
      expect(jobSettingsFrom(c).chunking).to.deep.equal({
        thresholdSeconds: 120,
        chunkSeconds: 30,
        parallelism: 0,
        backoffLimitPerIndex: 2,
      });
      const set = operatorSchema.parse({
        ...base,
        CHUNK_THRESHOLD_SECONDS: '0',
        CHUNK_SECONDS: '12',
        CHUNK_PARALLELISM: '4',
        CHUNK_BACKOFF_LIMIT_PER_INDEX: '5',
      });
      expect(jobSettingsFrom(set).chunking).to.deep.equal({
        thresholdSeconds: 0,
        chunkSeconds: 12,
        parallelism: 4,
        backoffLimitPerIndex: 5,
      });
      expect(() => operatorSchema.parse({ ...base, CHUNK_SECONDS: '0' })).to.throw();
    });
  });

  describe('Jobs', () => {
    const plan = { chunkSeconds: 30, count: 10 };
    it('the chunked Job is Indexed: completions = chunks, parallelism = completions by default, a failed chunk retried alone, bad input fails it at once', () => {
      const j = buildChunksJob(long(), '720p', plan, chunked);
      expect(j.metadata?.name).to.equal('demo-720p-chunks');
      expect(j.metadata?.ownerReferences?.[0]).to.include({ kind: 'Video', uid: UID, controller: true });
      expect(j.metadata?.labels).to.include({ 'media.videoflix.io/rendition': '720p' });
      expect(j.spec).to.include({
        completionMode: 'Indexed',
        completions: 10,
        parallelism: 10,
        backoffLimitPerIndex: 2,
        maxFailedIndexes: 0,
        activeDeadlineSeconds: 3600,
      });
      expect(j.spec?.backoffLimit).to.equal(undefined);
      expect(j.spec?.podFailurePolicy?.rules[0]).to.deep.equal({
        action: 'FailJob',
        onExitCodes: {
          containerName: 'transcoder',
          operator: 'In',
          values: [EXIT_CODES.badInput, EXIT_CODES.usage],
        },
      });
      // the chunks spread over the nodes, as a preference
      expect(j.spec?.template.spec?.topologySpreadConstraints).to.deep.equal([
        {
          maxSkew: 1,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: { 'batch.kubernetes.io/job-name': 'demo-720p-chunks' } },
        },
      ]);
      expect(buildJob(long(), '720p', chunked).spec?.template.spec?.topologySpreadConstraints).to.equal(
        undefined,
      );
      const c = j.spec?.template.spec?.containers[0];
      expect(c?.args).to.deep.equal(['chunk', '720p']);
      expect(envOf(j)).to.include({ CHUNK_SECONDS: '30', CHUNK_COUNT: '10' });
      expect(envOf(j)).to.not.have.any.keys('CHUNK_THRESHOLD_SECONDS', 'PROGRESS_EXCHANGE');
      // the same Pod as a rendition Job's: security context, resources, termination message
      const single = buildJob(long(), '720p', chunked);
      expect(j.spec?.template.spec?.securityContext).to.deep.equal(
        single.spec?.template.spec?.securityContext,
      );
      expect(c?.securityContext).to.deep.equal(single.spec?.template.spec?.containers[0]?.securityContext);
      expect(c?.resources).to.deep.equal(single.spec?.template.spec?.containers[0]?.resources);
      expect(c?.terminationMessagePolicy).to.equal('FallbackToLogsOnError');
      expect(j.spec?.template.spec?.restartPolicy).to.equal('Never');
    });
    it('parallelism: the Video spec, else CHUNK_PARALLELISM, never above the chunks', () => {
      const s = { ...chunked, chunking: { ...chunked.chunking!, parallelism: 3 } };
      expect(buildChunksJob(long(), '480p', plan, s).spec?.parallelism).to.equal(3);
      const v = video({}, { ...RUNGS, chunking: { parallelism: 4 } }, probed);
      expect(buildChunksJob(v, '480p', plan, s).spec?.parallelism).to.equal(4);
      expect(buildChunksJob(long(), '480p', { chunkSeconds: 30, count: 2 }, s).spec?.parallelism).to.equal(2);
    });
    it('the stitch Job: one Pod, `stitch <res>`, CHUNK_COUNT, the thumbnail’s resources, the rendition deadline', () => {
      const j = buildStitchJob(long(), '480p', plan, chunked);
      expect(j.metadata?.name).to.equal('demo-480p-stitch');
      expect(j.spec?.completionMode).to.equal(undefined);
      expect(j.spec).to.include({ backoffLimit: 2, activeDeadlineSeconds: 3600 });
      expect(j.spec?.template.spec?.containers[0]?.resources).to.deep.equal(settings.resources.thumbnail);
      expect(j.spec?.template.spec?.containers[0]?.args).to.deep.equal(['stitch', '480p']);
      expect(envOf(j)).to.include({ CHUNK_COUNT: '10' });
    });
    it('long names are hashed like every child name', () => {
      const v = video({ name: 'x'.repeat(70) }, RUNGS, probed);
      expect(chunksJobName(v, '1080p'))
        .to.have.length.at.most(63)
        .and.match(/-1080p-chunks$/);
      expect(stitchJobName(v, '1080p'))
        .to.have.length.at.most(63)
        .and.match(/-1080p-stitch$/);
    });
    it('the probe and the speculative rendition Jobs get the Video’s threshold and chunk length', () => {
      expect(envOf(buildJob(long(), 'thumbnail', chunked))).to.include({
        CHUNK_THRESHOLD_SECONDS: '120',
        CHUNK_SECONDS: '30',
      });
      const v = video({}, { ...RUNGS, chunking: { thresholdSeconds: 60, chunkSeconds: 12 } });
      expect(envOf(buildJob(v, '720p', chunked))).to.include({
        CHUNK_THRESHOLD_SECONDS: '60',
        CHUNK_SECONDS: '12',
      });
      expect(envOf(buildJob(long(), '720p', settings))).to.not.have.any.keys('CHUNK_THRESHOLD_SECONDS');
      const off = video({}, { ...RUNGS, chunking: { thresholdSeconds: 0 } });
      expect(envOf(buildJob(off, '720p', chunked))).to.not.have.any.keys('CHUNK_THRESHOLD_SECONDS');
    });
  });

  describe('decide', () => {
    it('below the threshold nothing changes: one Job per rung, no chunks', () => {
      const short: VideoStatus = { ...probed, source: { ...probed.source, durationSeconds: 120 } };
      const v = long(short);
      const j = jobs(
        job('demo-thumbnail', 'Complete'),
        job('demo-480p', 'Complete'),
        job('demo-720p', undefined),
      );
      const withChunking = decide(obs(v, { jobs: j }), S);
      const without = decide(obs(v, { jobs: j }), { jobs: settings });
      expect(withChunking).to.deep.equal(without);
      expect(withChunking.status?.renditions?.map((r) => `${r.name}:${r.phase}`)).to.deep.equal([
        '480p:Succeeded',
        '720p:Running',
      ]);
      expect(withChunking.status?.chunksSummary).to.equal(undefined);
    });

    it('before the probe only the usual Jobs start (no chunk Job before the probe Job is Complete)', () => {
      const d = decide(obs(video({}, RUNGS)), S);
      expect(types(d)).to.deep.equal([
        'CreateJob:demo-thumbnail',
        'CreateJob:demo-480p',
        'CreateJob:demo-720p',
      ]);
      const running = decide(
        obs(video({}, RUNGS, d.status), {
          jobs: jobs(job('demo-thumbnail', undefined), job('demo-480p', 'Complete')),
        }),
        S,
      );
      expect(types(running).filter((t) => t.includes('chunks'))).to.deep.equal([]);
    });

    it('the probe of a long source: the deferred speculative Jobs go, one Indexed Job per rung starts', () => {
      const v = video({}, RUNGS, { phase: 'Processing' });
      const d = decide(
        obs(v, {
          jobs: jobs(...deferred()),
          probe: { ok: { durationSeconds: 300, width: 1920, height: 1080, hasAudio: true } },
          // the deferred Pods' termination message is no rendition.json: no pod result
        }),
        S,
      );
      expect(types(d)).to.deep.equal([
        'CreateJob:demo-480p-chunks',
        'CreateJob:demo-720p-chunks',
        'DeleteJobs:demo-480p,demo-720p',
      ]);
      const create = d.actions.find((a) => a.type === 'CreateJob');
      expect(create?.type === 'CreateJob' && create.job.spec?.completions).to.equal(10);
      expect(d.status?.renditions).to.deep.equal([
        {
          name: '480p',
          phase: 'Running',
          job: 'demo-480p-chunks',
          chunks: { done: 0, total: 10 },
          progress: { percent: 0, updatedAt: NOW.toISOString() },
        },
        {
          name: '720p',
          phase: 'Running',
          job: 'demo-720p-chunks',
          chunks: { done: 0, total: 10 },
          progress: { percent: 0, updatedAt: NOW.toISOString() },
        },
      ]);
      expect(d.status).to.include({ phase: 'Processing', renditionsSummary: '0/2', chunksSummary: '0/20' });
      expect(d.events.find((e) => e.reason === 'JobsCancelled')?.message).to.equal(
        'Deleted Jobs demo-480p, demo-720p (deferred to the chunk Jobs)',
      );
      expect(d.events.filter((e) => e.reason === 'JobCreated').map((e) => e.message)).to.deep.equal([
        'Created Job demo-480p-chunks (480p in 10 chunks of 30 s)',
        'Created Job demo-720p-chunks (720p in 10 chunks of 30 s)',
      ]);
    });

    it('the deferred speculative Jobs’ outcome is ignored, even a failure', () => {
      const d = decide(
        obs(long(), {
          jobs: jobs(
            job('demo-thumbnail', 'Complete'),
            job('demo-480p', 'Failed'),
            job('demo-720p', 'Complete'),
          ),
        }),
        S,
      );
      expect(d.status?.phase).to.equal('Processing');
      expect(d.status?.renditions?.map((r) => `${r.name}:${r.phase}`)).to.deep.equal([
        '480p:Running',
        '720p:Running',
      ]);
      // nor does it start an automatic retry: the Job is only deleted with its sibling
      const retrying = decide(
        obs(long(), {
          jobs: jobs(
            job('demo-thumbnail', 'Complete'),
            job('demo-480p', 'Failed'),
            job('demo-720p', 'Complete'),
          ),
        }),
        { ...S, retry: { limit: 3, delaySeconds: 30 } },
      );
      expect(types(retrying)).to.deep.equal([
        'CreateJob:demo-480p-chunks',
        'CreateJob:demo-720p-chunks',
        'DeleteJobs:demo-480p,demo-720p',
      ]);
      expect(retrying.status?.retry).to.equal(undefined);
    });

    it('chunks done/total from completedIndexes; percent = done/total; the status stays put while nothing changes', () => {
      const j = jobs(
        job('demo-thumbnail', 'Complete'),
        indexed('demo-480p-chunks', '0-3,7'),
        indexed('demo-720p-chunks', ''),
      );
      const d = decide(obs(long(), { jobs: j }), S);
      expect(types(d)).to.deep.equal([]);
      expect(d.status?.renditions?.[0]).to.deep.include({ phase: 'Running', chunks: { done: 5, total: 10 } });
      expect(d.status?.renditions?.[0]?.progress?.percent).to.equal(50);
      expect(d.status).to.include({ chunksSummary: '5/20', progressSummary: '25%' });
      const again = decide(obs(long(d.status), { jobs: j, now: new Date(NOW.getTime() + 60_000) }), S);
      expect(again.status).to.deep.equal(d.status);
    });

    it('the stitch Job starts once every chunk is done, and the rung is Succeeded only after its files are written', () => {
      const j = jobs(
        job('demo-thumbnail', 'Complete'),
        indexed('demo-480p-chunks', '0-9', 'Complete'),
        indexed('demo-720p-chunks', '0-8'),
      );
      const d = decide(obs(long(), { jobs: j }), S);
      expect(types(d)).to.deep.equal(['CreateJob:demo-480p-stitch']);
      expect(d.status?.renditions?.[0]).to.deep.include({
        phase: 'Running',
        chunks: { done: 10, total: 10 },
      });

      j.set('demo-480p-stitch', job('demo-480p-stitch', undefined));
      expect(types(decide(obs(long(d.status), { jobs: j }), S))).to.deep.equal([]);

      j.set('demo-480p-stitch', job('demo-480p-stitch', 'Complete'));
      const v = long(d.status);
      expect(needsChunkMetadata(v, j, ['480p', '720p'])).to.deep.equal(['480p']);
      const written = decide(obs(v, { jobs: j, chunks: new Map([['480p', readout('480p')]]) }), S);
      expect(types(written)).to.deep.equal(['WriteRendition:480p']);
      const w = written.actions[0];
      if (w?.type !== 'WriteRendition') throw new Error('no WriteRendition');
      expect(w.playlistKey).to.equal(keys.playlist(UID, '480p'));
      expect(w.metadataKey).to.equal(keys.renditionMeta(UID, '480p'));
      expect(w.playlist.split('\n').filter((l) => l.startsWith('segment_'))).to.have.length(50);
      expect(w.playlist).to.include('#EXT-X-ENDLIST');
      expect(JSON.parse(w.metadata)).to.include({ name: '480p', width: 854, height: 480, segmentCount: 50 });
      expect(written.status?.renditions?.[0]).to.deep.equal({
        name: '480p',
        phase: 'Succeeded',
        job: 'demo-480p-chunks',
        playlistKey: keys.playlist(UID, '480p'),
        chunks: { done: 10, total: 10 },
      });
      expect(written.events.map((e) => e.reason)).to.include('ChunksStitched');
      expect(written.status).to.include({ renditionsSummary: '1/2', chunksSummary: '19/20' });
    });

    it('all rungs stitched: rendition.json read, master.m3u8 written, Ready', () => {
      const done: VideoStatus = {
        ...probed,
        renditions: (['480p', '720p'] as const).map((name) => ({
          name,
          phase: 'Succeeded' as const,
          job: `demo-${name}-chunks`,
          playlistKey: keys.playlist(UID, name),
          chunks: { done: 10, total: 10 },
        })),
      };
      const j = jobs(
        ...deferred(),
        indexed('demo-480p-chunks', '0-9', 'Complete'),
        indexed('demo-720p-chunks', '0-9', 'Complete'),
      );
      expect(needsRenditionMetadata(long(done), j, undefined, undefined, chunked)).to.equal(true);
      const d = decide(obs(long(done), { jobs: j, metadata: { ok: [meta('480p'), meta('720p')] } }), S);
      expect(types(d)).to.deep.equal(['WriteMaster', 'DeleteJobs:demo-480p,demo-720p']);
      expect(d.status).to.include({ phase: 'Ready', chunksSummary: '20/20' });
    });

    describe('a rung added to a Ready chunked Video (issue 24 × the ladder that grows)', () => {
      const step = (v: Video, o: Partial<Observed> = {}) => {
        const d = decide(obs(v, o), S);
        return { d, next: { ...v, status: d.status ?? v.status } as Video };
      };
      const source = { durationSeconds: 300, width: 1920, height: 1080, hasAudio: true };
      /** 480p only, taken to Ready by decide() itself: probe, chunk Job, stitch, files, master. */
      function readyChunked480(): { v: Video; done: Map<string, V1Job> } {
        let v = video({}, { renditions: ['480p'] });
        v = step(v).next;
        v = step(v, {
          jobs: jobs(job('demo-thumbnail', 'Complete'), job('demo-480p', 'Complete')),
          probe: { ok: source },
        }).next;
        const done = jobs(
          job('demo-thumbnail', 'Complete'),
          indexed('demo-480p-chunks', '0-9', 'Complete'),
          job('demo-480p-stitch', 'Complete'),
        );
        v = step(v, { jobs: done, chunks: new Map([['480p', readout('480p')]]) }).next;
        const { d, next } = step(v, { jobs: done, metadata: { ok: [meta('480p')] } });
        expect(types(d)).to.deep.equal(['WriteMaster']);
        expect(next.status).to.include({ phase: 'Ready', chunksSummary: '10/10' });
        return { v: next, done };
      }

      for (const [what, kept] of [
        ['its Jobs still there', true],
        ['its Jobs gone (TTL)', false],
      ] as const)
        it(`720p gets a chunk Job and a stitch, never a speculative single Job (${what}); the master is rewritten with both`, () => {
          const { v: ready, done } = readyChunked480();
          const left = kept ? done : jobs();
          const grown: Video = {
            ...ready,
            metadata: { ...ready.metadata, generation: 2 },
            spec: { ...ready.spec, renditions: ['480p', '720p'] },
          };
          // the probe and the plan are long done: the new rung goes straight to its Indexed Job
          const first = step(grown, { jobs: left });
          expect(types(first.d)).to.deep.equal(['CreateJob:demo-720p-chunks']);
          const create = first.d.actions[0];
          expect(create?.type === 'CreateJob' && create.job.spec?.completions).to.equal(10);
          expect(first.d.status).to.include({
            phase: 'Ready',
            renditionsSummary: '1/2',
            chunksSummary: '10/20',
          });
          expect(first.d.status?.renditions?.map((r) => `${r.name}:${r.phase}:${r.job}`)).to.deep.equal([
            '480p:Succeeded:demo-480p-chunks',
            '720p:Running:demo-720p-chunks',
          ]);
          expect(needsRenditionMetadata(first.next, left, undefined, undefined, chunked)).to.equal(false);

          const j = new Map(left);
          j.set('demo-720p-chunks', indexed('demo-720p-chunks', '0-9', 'Complete'));
          const stitch = step(first.next, { jobs: j });
          expect(types(stitch.d)).to.deep.equal(['CreateJob:demo-720p-stitch']);

          j.set('demo-720p-stitch', job('demo-720p-stitch', 'Complete'));
          expect(needsChunkMetadata(stitch.next, j, ['480p', '720p'])).to.deep.equal(['720p']);
          const written = step(stitch.next, { jobs: j, chunks: new Map([['720p', readout('720p')]]) });
          expect(types(written.d)).to.deep.equal(['WriteRendition:720p']);
          expect(written.d.status).to.include({ phase: 'Ready', renditionsSummary: '2/2' });
          // its rendition.json is read only on the next pass: the old master (480p only) is not current
          // (this was the bug: Transcoded turned True here on the old master's key, never rewritten)
          expect(written.d.status?.conditions?.find((c) => c.type === 'Transcoded')).to.include({
            status: 'Unknown',
          });

          expect(needsRenditionMetadata(written.next, j, undefined, undefined, chunked)).to.equal(true);
          const master = step(written.next, { jobs: j, metadata: { ok: [meta('480p'), meta('720p')] } });
          expect(types(master.d)).to.deep.equal(['WriteMaster']);
          expect(master.d.status).to.include({ phase: 'Ready', chunksSummary: '20/20' });
          expect(master.d.status?.conditions?.find((c) => c.type === 'Transcoded')).to.include({
            status: 'True',
            observedGeneration: 2,
          });
        });
    });

    it('a deferred speculative Job’s Complete is not a rendition done: rendition.json is not read then', () => {
      expect(needsRenditionMetadata(long(), jobs(...deferred()), undefined, undefined, chunked)).to.equal(
        false,
      );
      // without chunking the same Jobs would count
      const short = long({ ...probed, source: { ...probed.source, durationSeconds: 60 } });
      expect(needsRenditionMetadata(short, jobs(...deferred()), undefined, undefined, chunked)).to.equal(
        true,
      );
    });

    it('a chunk check that fails fails the Video with ChunkCheckFailed and the reason', () => {
      const broken = Array.from({ length: 10 }, (_, i) => chunkMeta('480p', i));
      const c4 = broken[4]!;
      broken[4] = {
        ...c4,
        segments: c4.segments.map((s) => ({
          ...s,
          firstVideoPts: s.firstVideoPts + 3600,
          lastVideoPts: s.lastVideoPts + 3600,
        })),
      };
      const j = jobs(
        job('demo-thumbnail', 'Complete'),
        indexed('demo-480p-chunks', '0-9', 'Complete'),
        job('demo-480p-stitch', 'Complete'),
        indexed('demo-720p-chunks', '0-2'),
      );
      const d = decide(obs(long(), { jobs: j, chunks: new Map([['480p', readout('480p', broken)]]) }), S);
      expect(d.status?.phase).to.equal('Failed');
      const failed = d.status?.conditions?.find((c) => c.type === 'Failed');
      expect(failed?.reason).to.equal('ChunkCheckFailed');
      // the first check that sees the shifted chunk 4 says why: off the segment grid, or a gap at the join
      expect(failed?.message).to.match(/^rendition 480p: .*(chunk 4|join 3→4).*3600 ticks/);
      expect(d.status?.renditions?.[0]).to.include({ phase: 'Failed' });
      expect(types(d)).to.deep.equal(['DeleteJobs:demo-720p-chunks']); // the rest stops
      expect(d.events.filter((e) => e.type === 'Warning').map((e) => e.reason)).to.deep.equal([
        'ChunkCheckFailed',
      ]);
    });

    it('a missing chunk metadata object fails the Video with StorageError naming it', () => {
      const j = jobs(
        job('demo-thumbnail', 'Complete'),
        indexed('demo-480p-chunks', '0-9', 'Complete'),
        job('demo-480p-stitch', 'Complete'),
        indexed('demo-720p-chunks', '0-2'),
      );
      const key = chunkKeys.chunkMeta(UID, '480p', 3);
      const d = decide(
        obs(long(), { jobs: j, chunks: new Map([['480p', { error: `${key} not found` }]]) }),
        S,
      );
      expect(d.status?.conditions?.find((c) => c.type === 'Failed')).to.include({
        reason: 'StorageError',
        message: `rendition 480p chunks: ${key} not found`,
      });
    });

    it('the stitch’s own check failing (badInput → podFailurePolicy) fails the Video with ChunkCheckFailed and its message', () => {
      const j = jobs(
        job('demo-thumbnail', 'Complete'),
        indexed('demo-480p-chunks', '0-9', 'Complete'),
        job(
          'demo-480p-stitch',
          'Failed',
          'PodFailurePolicy',
          'Container transcoder for pod media/x failed with exit code 2',
        ),
        indexed('demo-720p-chunks', '0-2'),
      );
      const d = decide(
        obs(long(), {
          jobs: j,
          terminationMessages: new Map([
            ['demo-480p-stitch', 'chunk 3 ends at 90.04 s, chunk 4 starts at 90.12 s'],
          ]),
        }),
        S,
      );
      expect(d.status?.conditions?.find((c) => c.type === 'Failed')).to.include({
        reason: 'ChunkCheckFailed',
        message: 'rendition 480p stitch: chunk 3 ends at 90.04 s, chunk 4 starts at 90.12 s',
      });
    });

    it('a chunk with bad input fails the chunked Job at once: the Video fails fast (InvalidSource)', () => {
      const j = jobs(
        job('demo-thumbnail', 'Complete'),
        indexed('demo-480p-chunks', '0-2', 'Failed', 'PodFailurePolicy'),
        indexed('demo-720p-chunks', '0-2'),
      );
      const d = decide(
        obs(long(), {
          jobs: j,
          terminationMessages: new Map([['demo-480p-chunks', 'source unreadable at 95 s']]),
        }),
        S,
      );
      expect(d.status?.conditions?.find((c) => c.type === 'Failed')).to.include({
        reason: 'InvalidSource',
        message: 'rendition 480p: source unreadable at 95 s',
      });
      expect(d.status?.renditions?.[0]).to.deep.include({ phase: 'Failed', chunks: { done: 3, total: 10 } });
    });

    it('a transient failure of a chunked Job is retried like any Job: deleted, then created again', () => {
      const j = jobs(
        job('demo-thumbnail', 'Complete'),
        indexed('demo-480p-chunks', '0-2', 'Failed', 'FailedIndexes'),
        indexed('demo-720p-chunks', '0-2'),
      );
      const settingsWithRetry = { ...S, retry: { limit: 2, delaySeconds: 0 } };
      const d = decide(
        obs(long(), { jobs: j, terminations: new Map([['demo-480p-chunks', { exitCode: 3 }]]) }),
        settingsWithRetry,
      );
      expect(types(d)).to.deep.equal(['DeleteJobs:demo-480p-chunks']);
      expect(d.events[0]?.message).to.match(/^rendition 480p: /);
      j.delete('demo-480p-chunks');
      const next = decide(obs(long(d.status), { jobs: j }), settingsWithRetry);
      expect(types(next)).to.deep.equal(['CreateJob:demo-480p-chunks']);
    });

    it('the Pod cache keeps no chunk Pod’s message (chunk metadata, never a rendition.json)', () => {
      const pod = (labels: Record<string, string>) =>
        slimPod({
          metadata: { name: 'p', labels },
          status: {
            phase: 'Succeeded',
            containerStatuses: [
              {
                name: 'transcoder',
                image: 'i',
                imageID: '',
                ready: false,
                restartCount: 0,
                state: { terminated: { exitCode: 0, message: '{"rendition":"480p"}' } },
              },
            ],
          },
        });
      const message = (p: ReturnType<typeof slimPod>) =>
        p.status?.containerStatuses?.[0]?.state?.terminated?.message;
      expect(message(pod({}))).to.equal('{"rendition":"480p"}');
      expect(message(pod({ [JOB_COMPLETION_INDEX_LABEL]: '3' }))).to.equal(undefined);
    });

    it('a chunk done is news for the Video (its Job informer enqueues it); other Job status churn is not', () => {
      const chunks = (completedIndexes?: string, active = 5): V1Job => ({
        metadata: { name: 'demo-480p-chunks' },
        spec: { completionMode: 'Indexed', template: {} },
        status: { active, ...(completedIndexes !== undefined ? { completedIndexes } : {}) },
      });
      expect(jobChangeMatters(chunks(), chunks('0'))).to.equal(true);
      expect(jobChangeMatters(chunks('0'), chunks('0,2'))).to.equal(true);
      expect(jobChangeMatters(chunks('0', 5), chunks('0', 4))).to.equal(false);
      const single = (active: number): V1Job => ({ metadata: { name: 'demo-480p' }, status: { active } });
      expect(jobChangeMatters(single(1), single(0))).to.equal(false);
    });

    it('a running chunk Job keeps its own count when the operator’s settings change meanwhile', () => {
      const seven = indexed('demo-480p-chunks', '0-6', 'Complete');
      seven.spec = { completions: 7, template: {} };
      const j = jobs(job('demo-thumbnail', 'Complete'), seven, indexed('demo-720p-chunks', '0'));
      const d = decide(obs(long(), { jobs: j }), S);
      expect(d.status?.renditions?.[0]).to.deep.include({ chunks: { done: 7, total: 7 } });
      expect(d.status?.chunksSummary).to.equal('8/17');
      const stitch = d.actions.find((a) => a.type === 'CreateJob');
      expect(stitch?.type === 'CreateJob' && envOf(stitch.job).CHUNK_COUNT).to.equal('7');
    });

    it('chunksDone reads completedIndexes ranges, else succeeded', () => {
      expect(chunksDone(indexed('x', '0-3,5,7-8'), 10)).to.equal(7);
      expect(chunksDone({ status: { succeeded: 4 } }, 10)).to.equal(4);
      expect(chunksDone({ status: { succeeded: 40 } }, 10)).to.equal(10);
      expect(chunksDone(undefined, 10)).to.equal(0);
    });
  });
});
