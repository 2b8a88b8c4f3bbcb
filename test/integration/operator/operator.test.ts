/**
 * The operator in-process against the real API server, job + GC controllers and versitygw.
 * The test plays the transcoder (writes probe.json / rendition.json / playlists) and the kubelet
 * (sets Job and Pod status).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type * as k8s from '@kubernetes/client-node';
import {
  FINALIZER,
  GROUP,
  LABELS,
  PLURAL,
  VERSION,
  keys,
  type ProbeResult,
  type RenditionName,
  type Video,
} from '../../../common/video/index.js';
import { createHealthServer, listen } from '../../../operator/runtime/health.js';
import { apiStatus, createTestNamespace, uniqueName } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';
import {
  MERGE,
  PROBE_1080,
  applyVideoCrd,
  clients,
  completeJob,
  createVideo,
  driveToReady as driveVideoToReady,
  ensureTranscoderServiceAccount,
  eventsFor,
  failJob,
  getVideo,
  listKeys,
  makeBuckets,
  ownedJobs,
  readText,
  s3,
  startOperator,
  terminatePod,
  videoGone,
  waitJobs,
  waitPhase,
  writeProbe,
  writeRendition,
  type RunningOperator,
  dropNamespace,
} from './helpers.js';

const run = promisify(execFile);
const ALL: RenditionName[] = ['480p', '720p', '1080p'];

describe('operator (host tier: API server, job/GC controllers, versitygw)', function () {
  this.timeout(60_000);
  const { kc, custom, batch, core } = clients();
  const storage = s3();
  let ns: string;
  let buckets: { media: string; sources: string };
  let op: RunningOperator | undefined;

  before(async () => {
    await applyVideoCrd();
    buckets = await makeBuckets(storage);
  });

  beforeEach(async () => {
    ns = await createTestNamespace(kc, 'op');
    await ensureTranscoderServiceAccount(core, ns);
  });

  afterEach(async () => {
    await op?.stop();
    op = undefined;
    // Videos keep their finalizer once the operator is gone: drop it so the namespace can go.
    await dropNamespace(kc, custom, ns);
  });

  const source = (name: string) => ({ bucket: buckets.sources, key: `uploads/${name}.mp4` });

  /** Drives one Video through probe and every rendition; returns its uid. */
  const driveToReady = (name: string, renditions: RenditionName[] = ALL, probe: ProbeResult = PROBE_1080) =>
    driveVideoToReady({ custom, batch, storage, mediaBucket: buckets.media }, ns, name, renditions, probe);

  it('refuses an invalid spec at the API server', async () => {
    const bad = async (spec: object, pattern: RegExp) => {
      let err: unknown;
      await custom
        .createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: PLURAL,
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'Video',
            metadata: { name: uniqueName('bad') },
            spec,
          },
        })
        .catch((e: unknown) => (err = e));
      expect(apiStatus(err), JSON.stringify(spec)).to.equal(422);
      expect(String((err as { body?: unknown }).body)).to.match(pattern);
    };
    await bad({ source: source('x') }, /spec.title: Required value/);
    await bad({ title: 'x', source: source('x'), renditions: ['4k'] }, /Unsupported value.*4k/);
    await bad({ title: 'x'.repeat(201), source: source('x') }, /spec.title: Too long/);
    await bad({ title: 'x', source: { bucket: 'B!', key: '' } }, /spec.source.key|spec.source.bucket/);
    await bad({ title: 'x', source: source('x'), renditions: [] }, /spec.renditions/);

    const ok = await createVideo(custom, ns, 'immutable', { source: source('x') });
    expect(ok.spec.renditions).to.deep.equal(ALL); // schema default
    let err: unknown;
    await custom
      .patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: PLURAL,
          name: 'immutable',
          body: { spec: { source: { key: 'other' } } },
        },
        MERGE,
      )
      .catch((e: unknown) => (err = e));
    expect(apiStatus(err)).to.equal(422);
    expect(String((err as { body?: unknown }).body)).to.contain('spec.source is immutable');
    // Mutable fields stay mutable.
    await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        name: 'immutable',
        body: { spec: { title: 'New title' } },
      },
      MERGE,
    );
  });

  it('fails a Video naming another bucket than the sources bucket (SourceNotAllowed), creating no Job', async () => {
    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
    // e.g. a playlist of another Video in the media bucket, which the transcoder's credentials could read
    await createVideo(custom, ns, 'elsewhere', {
      source: { bucket: buckets.media, key: 'other/master.m3u8' },
    });
    const v = await waitPhase(custom, ns, 'elsewhere', 'Failed');
    const failed = v.status?.conditions?.find((c) => c.type === 'Failed');
    expect(failed).to.include({ status: 'True', reason: 'SourceNotAllowed' });
    expect(failed?.message).to.contain(`may only name the sources bucket "${buckets.sources}"`);
    expect(await ownedJobs(batch, ns)).to.deep.equal([]);
    // the one the operator does accept, in the same namespace, for contrast
    await createVideo(custom, ns, 'allowed', { source: source('allowed') });
    await waitJobs(batch, ns, ['allowed-thumbnail']);
    expect((await ownedJobs(batch, ns)).map((j) => j.metadata?.name)).not.to.include('elsewhere-thumbnail');
  });

  it('takes a Video to Ready: finalizer, the thumbnail Job and one Job per rendition at once, master.m3u8 once', async () => {
    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
    const t0 = Date.now();
    await createVideo(custom, ns, 'movie', {
      source: source('movie'),
      category: 'Drama',
      description: 'A film',
    });

    // Finalizer, then the thumbnail/probe Job and the rendition Jobs together (no waiting for the probe).
    const started = await waitJobs(batch, ns, ['movie-thumbnail', 'movie-480p', 'movie-720p', 'movie-1080p']);
    const thumb = started.find((j) => j.metadata?.name === 'movie-thumbnail')!;
    const v1 = await waitPhase(custom, ns, 'movie', 'Processing');
    const uid = v1.metadata.uid!;
    expect(v1.metadata.finalizers).to.deep.equal([FINALIZER]);
    expect(v1.status?.phase).to.equal('Processing');
    expect(started).to.have.length(4);
    // all but the lowest rung skip themselves if the source turns out shorter than them
    const skipFlag = (name: string) =>
      started
        .find((j) => j.metadata?.name === name)
        ?.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'SKIP_TALLER_THAN_SOURCE')?.value;
    expect(['movie-480p', 'movie-720p', 'movie-1080p'].map(skipFlag)).to.deep.equal([undefined, '1', '1']);
    expect(thumb.metadata?.ownerReferences).to.deep.equal([
      {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Video',
        name: 'movie',
        uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(thumb.spec?.template.spec?.containers[0]?.args).to.deep.equal(['thumbnail']);

    await writeProbe(storage, buckets.media, uid, PROBE_1080);
    await completeJob(batch, ns, 'movie-thumbnail');
    const jobs = await waitJobs(batch, ns, ['movie-480p', 'movie-720p', 'movie-1080p']);
    expect(jobs).to.have.length(4);
    const j720 = jobs.find((j) => j.metadata?.name === 'movie-720p')!;
    expect(j720.metadata?.labels?.[LABELS.rendition]).to.equal('720p');
    expect(j720.metadata?.labels?.[LABELS.video]).to.equal('movie');
    expect(j720.spec?.backoffLimit).to.equal(2);
    expect(j720.spec?.podFailurePolicy?.rules?.[0]?.action).to.equal('FailJob');
    expect(j720.spec?.template.spec?.automountServiceAccountToken).to.equal(false);
    expect(j720.spec?.template.spec?.containers[0]?.resources?.limits?.memory).to.equal('1536Mi');

    // Jobs are created before the status is written: wait for the status.
    const probed = await waitFor(
      async () => {
        const v = await getVideo(custom, ns, 'movie');
        return v.status?.source ? v : undefined;
      },
      { what: 'status.source' },
    );
    expect(probed.status?.source).to.deep.equal({
      durationSeconds: 30,
      width: 1920,
      height: 1080,
      hasAudio: true,
    });
    expect(probed.status?.thumbnailKey).to.equal(keys.thumbnail(uid));

    // Two renditions done: still Processing, no master yet.
    await writeRendition(storage, buckets.media, uid, '480p');
    await completeJob(batch, ns, 'movie-480p');
    await writeRendition(storage, buckets.media, uid, '1080p');
    await completeJob(batch, ns, 'movie-1080p');
    await waitFor(async () => (await getVideo(custom, ns, 'movie')).status?.renditionsReady === 2, {
      what: '2 renditions ready',
    });
    expect(await listKeys(storage, buckets.media, keys.master(uid))).to.deep.equal([]);
    expect((await getVideo(custom, ns, 'movie')).status?.phase).to.equal('Processing');

    await writeRendition(storage, buckets.media, uid, '720p');
    await completeJob(batch, ns, 'movie-720p');
    const ready = await waitPhase(custom, ns, 'movie', 'Ready');
    const elapsed = Date.now() - t0;

    expect(ready.status?.masterPlaylistKey).to.equal(keys.master(uid));
    expect(ready.status?.renditionsSummary).to.equal('3/3');
    expect(ready.status?.durationText).to.equal('30s');
    expect(ready.status?.renditions?.map((r) => [r.name, r.phase])).to.deep.equal([
      ['480p', 'Succeeded'],
      ['720p', 'Succeeded'],
      ['1080p', 'Succeeded'],
    ]);
    const conds = Object.fromEntries((ready.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(conds.Ready).to.include({ status: 'True', reason: 'Ready', observedGeneration: 1 });
    expect(conds.Probed).to.include({ status: 'True', reason: 'Probed' });
    expect(conds.Transcoded).to.include({ status: 'True', reason: 'Transcoded' });
    expect(conds.Failed).to.equal(undefined);

    const master = await readText(storage, buckets.media, keys.master(uid));
    expect(master.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF'))).to.deep.equal([
      '#EXT-X-STREAM-INF:BANDWIDTH=1498000,AVERAGE-BANDWIDTH=1273300,RESOLUTION=854x480,CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=25.000',
      '#EXT-X-STREAM-INF:BANDWIDTH=2996000,AVERAGE-BANDWIDTH=2546600,RESOLUTION=1280x720,CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=25.000',
      '#EXT-X-STREAM-INF:BANDWIDTH=5350000,AVERAGE-BANDWIDTH=4547500,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=25.000',
    ]);
    expect(master).to.contain('720p/index.m3u8');
    const stat = await storage.statObject(buckets.media, keys.master(uid));
    expect(stat.metaData['content-type']).to.equal('application/vnd.apple.mpegurl');

    // Written once: the object is not rewritten by later reconciles.
    await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        name: 'movie',
        body: { spec: { title: 'Renamed' } },
      },
      MERGE,
    );
    await waitFor(async () => (await getVideo(custom, ns, 'movie')).status?.observedGeneration === 2, {
      what: 'generation 2 observed',
    });
    expect((await storage.statObject(buckets.media, keys.master(uid))).etag).to.equal(stat.etag);
    expect(await ownedJobs(batch, ns)).to.have.length(4);

    // Events are recorded in the background: wait for the last one.
    const reasons = await waitFor(
      async () => {
        const r = (await eventsFor(core, ns, 'movie')).map((e) => `${e.type}/${e.reason}`);
        return r.includes('Normal/Ready') ? r : undefined;
      },
      { what: 'the Ready event' },
    );
    // No Pending event: the finalizer and the first Job go out in the same pass.
    expect(reasons).to.include.members([
      'Normal/JobCreated',
      'Normal/Probed',
      'Normal/PlaylistWritten',
      'Normal/Ready',
    ]);
    expect(reasons).to.not.include('Normal/Pending');
    expect(reasons.filter((r) => r.startsWith('Warning'))).to.deep.equal([]);

    // kubectl get videos prints the columns (and the short name and category work).
    const env = { ...process.env, KUBECONFIG: process.env.KUBECONFIG! };
    const { stdout } = await run('kubectl', ['get', 'videos', '-n', ns], { env });
    const [header, row] = stdout.trim().split('\n');
    const columns = ['NAME', 'TITLE', 'PHASE', 'RENDITIONS', 'PROGRESS', 'DURATION', 'AGE'];
    expect(header!.split(/\s+/)).to.deep.equal(columns);
    // cells by the header's offsets (PROGRESS is empty once Ready)
    const at = columns.map((c) => header!.indexOf(c));
    const cells = at.map((start, i) => row!.slice(start, at[i + 1] ?? row!.length).trim());
    expect(cells.slice(0, 6)).to.deep.equal(['movie', 'Renamed', 'Ready', '3/3', '', '30s']);
    const short = await run('kubectl', ['get', 'vid', '-n', ns, '-o', 'name'], { env });
    expect(short.stdout.trim()).to.equal('video.media.videoflix.io/movie');
    const cat = await run('kubectl', ['get', 'videoflix', '-n', ns, '-o', 'name'], { env });
    expect(cat.stdout).to.contain('video.media.videoflix.io/movie');
    const wait = await run(
      'kubectl',
      ['wait', '--for=condition=Ready', `video/movie`, '-n', ns, '--timeout=5s'],
      { env },
    );
    expect(wait.stdout).to.contain('condition met');

    const m = await op.controller.metrics.registry.getSingleMetricAsString(
      'videoflix_operator_jobs_created_total',
    );
    expect(m)
      .to.match(/task="thumbnail"} 1/)
      .and.match(/task="720p"} 1/);
    process.stderr.write(`      (create → Ready, test-driven: ${elapsed} ms)\n`);
  });

  it('skips renditions taller than the source', async () => {
    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
    await createVideo(custom, ns, 'small', { source: source('small') });
    await waitJobs(batch, ns, ['small-thumbnail', 'small-480p', 'small-720p', 'small-1080p']);
    await driveToReady('small', ['480p'], { durationSeconds: 5, width: 854, height: 480, hasAudio: false });
    const v = await waitPhase(custom, ns, 'small', 'Ready');
    expect(v.status?.renditions?.map((r) => [r.name, r.phase])).to.deep.equal([
      ['480p', 'Succeeded'],
      ['720p', 'Skipped'],
      ['1080p', 'Skipped'],
    ]);
    expect(v.status?.renditionsSummary).to.equal('1/1');
    expect((await ownedJobs(batch, ns)).map((j) => j.metadata?.name).sort()).to.deep.equal([
      'small-480p',
      'small-thumbnail',
    ]);
    const master = await readText(storage, buckets.media, keys.master(v.metadata.uid!));
    expect(master.match(/#EXT-X-STREAM-INF/g)).to.have.length(1);
  });

  it('a Job failed past its limit → Failed with the transcoder reason, a Warning Event, no retries', async () => {
    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
    await createVideo(custom, ns, 'broken', { source: source('broken') });
    await waitJobs(batch, ns, ['broken-thumbnail']);
    const uid = (await getVideo(custom, ns, 'broken')).metadata.uid!;
    await writeProbe(storage, buckets.media, uid, PROBE_1080);
    await completeJob(batch, ns, 'broken-thumbnail');
    await waitJobs(batch, ns, ['broken-480p', 'broken-720p', 'broken-1080p']);
    await writeRendition(storage, buckets.media, uid, '480p');
    await completeJob(batch, ns, 'broken-480p');

    // The kubelet reports the transcoder's one line; the Job controller gives up.
    await terminatePod(core, ns, 'broken-720p', 3, 'storage error: PutObject videoflix-media: AccessDenied');
    await failJob(batch, ns, 'broken-720p');
    const failed = await waitPhase(custom, ns, 'broken', 'Failed');
    expect(failed.status?.message).to.equal(
      'rendition 720p: storage error: PutObject videoflix-media: AccessDenied',
    );
    const conds = Object.fromEntries((failed.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(conds.Failed).to.include({ status: 'True', reason: 'JobFailed' });
    expect(conds.Ready).to.include({ status: 'False', reason: 'JobFailed' });
    expect(failed.status?.renditions?.find((r) => r.name === '720p')).to.include({ phase: 'Failed' });
    expect(failed.status?.renditions?.find((r) => r.name === '480p')).to.include({ phase: 'Succeeded' });

    const warnings = await waitFor(
      async () => {
        const w = (await eventsFor(core, ns, 'broken')).filter((e) => e.type === 'Warning');
        return w.length > 0 ? w : undefined;
      },
      { what: 'a Warning event' },
    );
    expect(warnings?.[0]).to.include({
      reason: 'JobFailed',
      message: 'rendition 720p: storage error: PutObject videoflix-media: AccessDenied',
    });

    // The 1080p Job still running cannot be used any more: it is deleted, and no Job is recreated.
    await waitFor(
      async () => !(await ownedJobs(batch, ns)).some((j) => j.metadata?.name === 'broken-1080p'),
      { what: 'broken-1080p deleted' },
    );
    const after = await getVideo(custom, ns, 'broken');
    expect(after.status?.phase).to.equal('Failed');
    expect(after.status?.masterPlaylistKey).to.equal(undefined);
    expect(await listKeys(storage, buckets.media, keys.master(uid))).to.deep.equal([]);
    expect((await ownedJobs(batch, ns)).map((j) => j.metadata?.name).sort()).to.deep.equal([
      'broken-480p',
      'broken-720p',
      'broken-thumbnail',
    ]);
  });

  it('bad input on the thumbnail Job (podFailurePolicy FailJob) → Failed with InvalidSource', async () => {
    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
    await createVideo(custom, ns, 'noise', { source: source('noise') });
    await waitJobs(batch, ns, ['noise-thumbnail']);
    await failJob(
      batch,
      ns,
      'noise-thumbnail',
      'PodFailurePolicy',
      'Container transcoder for pod noise-thumbnail-x failed with exit code 2 matching FailJob rule at index 0',
    );
    const v = await waitPhase(custom, ns, 'noise', 'Failed');
    const failedCond = v.status?.conditions?.find((c) => c.type === 'Failed');
    expect(failedCond).to.include({ status: 'True', reason: 'InvalidSource' });
    expect(failedCond?.message).to.match(/^thumbnail\/probe: Container transcoder .* exit code 2/);
    // the rendition Jobs started with it go; only the thumbnail Job (with the reason) stays
    await waitFor(
      async () => {
        const names = (await ownedJobs(batch, ns)).map((j) => j.metadata?.name);
        return names.length === 1 && names[0] === 'noise-thumbnail';
      },
      { what: 'the rendition Jobs of noise deleted' },
    );
    const later = await getVideo(custom, ns, 'noise');
    expect(later.status?.phase).to.equal('Failed');
    expect(later.status?.renditions?.map((r) => r.phase)).to.deep.equal(['Skipped', 'Skipped', 'Skipped']);
  });

  it('restarted mid-way, the operator creates no duplicate Jobs and finishes the work', async () => {
    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
    await createVideo(custom, ns, 'resume', { source: source('resume') });
    await waitJobs(batch, ns, ['resume-thumbnail']);
    const uid = (await getVideo(custom, ns, 'resume')).metadata.uid!;
    await writeProbe(storage, buckets.media, uid, PROBE_1080);
    await completeJob(batch, ns, 'resume-thumbnail');
    const before = await waitJobs(batch, ns, ['resume-480p', 'resume-720p', 'resume-1080p']);
    await writeRendition(storage, buckets.media, uid, '480p');
    await completeJob(batch, ns, 'resume-480p');
    await waitFor(async () => (await getVideo(custom, ns, 'resume')).status?.renditionsReady === 1, {
      what: '480p recorded',
    });
    await op.stop();

    // While it is down: one more rendition finishes.
    await writeRendition(storage, buckets.media, uid, '720p');
    await completeJob(batch, ns, 'resume-720p');

    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
    await waitFor(async () => (await getVideo(custom, ns, 'resume')).status?.renditionsReady === 2, {
      what: '720p seen after restart',
    });
    await writeRendition(storage, buckets.media, uid, '1080p');
    await completeJob(batch, ns, 'resume-1080p');
    await waitPhase(custom, ns, 'resume', 'Ready');
    const after = await ownedJobs(batch, ns);
    const uids = (l: k8s.V1Job[]) => l.map((j) => `${j.metadata?.name}:${j.metadata?.uid}`).sort();
    expect(uids(after)).to.deep.equal(uids(before));
    const created = await op.controller.metrics.registry.getSingleMetricAsString(
      'videoflix_operator_jobs_created_total',
    );
    expect(created).to.not.match(/} [1-9]/); // the second instance created nothing
  });

  it('deleting a Video removes its Jobs and its objects from the media bucket, then the finalizer; sources stay', async () => {
    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
    await createVideo(custom, ns, 'gone', { source: source('gone') });
    const uid = await driveToReady('gone', ['480p', '720p', '1080p']);
    await waitPhase(custom, ns, 'gone', 'Ready');
    await storage.putObject(buckets.sources, 'uploads/gone.mp4', Buffer.from('source'));
    const objects = await listKeys(storage, buckets.media, `${uid}/`);
    expect(objects).to.include.members([
      keys.master(uid),
      keys.probe(uid),
      keys.thumbnail(uid),
      keys.renditionMeta(uid, '720p'),
    ]);
    // A neighbour's objects must survive.
    await storage.putObject(buckets.media, 'someone-else/master.m3u8', Buffer.from('x'));

    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      name: 'gone',
    });
    await waitFor(() => videoGone(custom, ns, 'gone'), { what: 'Video gone' });
    expect(await listKeys(storage, buckets.media, `${uid}/`)).to.deep.equal([]);
    expect(await listKeys(storage, buckets.media, 'someone-else/')).to.deep.equal([
      'someone-else/master.m3u8',
    ]);
    expect(await listKeys(storage, buckets.sources, 'uploads/gone.mp4')).to.deep.equal(['uploads/gone.mp4']); // the API owns sources
    await waitFor(async () => (await ownedJobs(batch, ns)).length === 0, {
      timeoutMs: 30_000,
      what: 'Jobs deleted',
    });
  });

  it('a Video deleted while processing: its Jobs and Pods go first, then its objects, then the finalizer', async () => {
    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
    await createVideo(custom, ns, 'midway', { source: source('midway') });
    await waitJobs(batch, ns, ['midway-thumbnail']);
    const uid = (await getVideo(custom, ns, 'midway')).metadata.uid!;
    await writeProbe(storage, buckets.media, uid, PROBE_1080);
    await completeJob(batch, ns, 'midway-thumbnail');
    await waitJobs(batch, ns, ['midway-480p', 'midway-720p', 'midway-1080p']);
    await writeRendition(storage, buckets.media, uid, '480p');
    // The Job controller made Pods for the running Jobs (Pending: there are no nodes).
    const pods = async () =>
      (await core.listNamespacedPod({ namespace: ns, labelSelector: `${LABELS.video}=midway` })).items;
    await waitFor(async () => (await pods()).length >= 3, { what: 'Pods of the rendition Jobs' });

    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      name: 'midway',
    });
    await waitFor(() => videoGone(custom, ns, 'midway'), { timeoutMs: 30_000, what: 'Video gone' });
    expect(await ownedJobs(batch, ns)).to.deep.equal([]);
    expect(await pods()).to.deep.equal([]);
    expect(await listKeys(storage, buckets.media, `${uid}/`)).to.deep.equal([]);
  });

  it('keeps up with 10 Videos at once: one set of Jobs each, all Ready', async function () {
    this.timeout(120_000);
    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
    const names = Array.from({ length: 10 }, (_, i) => `batch-${i}`);
    const t0 = Date.now();
    await Promise.all(names.map((n) => createVideo(custom, ns, n, { source: source(n) })));
    // One poll loop for all (not twenty), so the test itself does not load the API server.
    const poll = { timeoutMs: 60_000, intervalMs: 250 };
    await waitJobs(
      batch,
      ns,
      names.map((n) => `${n}-thumbnail`),
      poll.timeoutMs,
    );
    const uids = new Map<string, string>();
    for (const n of names) {
      const uid = (await getVideo(custom, ns, n)).metadata.uid!;
      uids.set(n, uid);
      await writeProbe(storage, buckets.media, uid, PROBE_1080);
      await completeJob(batch, ns, `${n}-thumbnail`);
    }
    await waitJobs(
      batch,
      ns,
      names.flatMap((n) => ALL.map((r) => `${n}-${r}`)),
      poll.timeoutMs,
    );
    for (const n of names) {
      for (const r of ALL) {
        await writeRendition(storage, buckets.media, uids.get(n)!, r);
        await completeJob(batch, ns, `${n}-${r}`);
      }
    }
    await waitFor(
      async () => {
        const list = (await custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: PLURAL,
        })) as { items: Video[] };
        const notReady = list.items
          .filter((v) => v.status?.phase !== 'Ready')
          .map((v) => `${v.metadata.name}:${v.status?.phase}`);
        return notReady.length === 0 && list.items.length === names.length
          ? true
          : (notReady as unknown as false);
      },
      { ...poll, what: 'all Ready' },
    );
    const wall = Date.now() - t0;
    const jobs = await ownedJobs(batch, ns);
    expect(jobs).to.have.length(names.length * 4);
    expect(new Set(jobs.map((j) => j.metadata?.name)).size).to.equal(names.length * 4);
    const hist = (await op.controller.metrics.reconcileDuration.get()).values;
    const pick = (suffix: string, le?: number) =>
      hist.find(
        (v) =>
          v.metricName?.endsWith(suffix) &&
          v.labels.result === 'success' &&
          (le === undefined || (v.labels as Record<string, unknown>).le === le),
      )?.value ?? 0;
    const count = pick('_count');
    const p95 = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5].find(
      (b) => pick('_bucket', b) >= 0.95 * count,
    );
    const errors =
      (await op.controller.metrics.reconciles.get()).values.find((v) => v.labels.result === 'error')?.value ??
      0;
    process.stderr.write(
      `      (10 Videos → Ready in ${wall} ms; ${count} reconciles, mean ${((pick('_sum') / count) * 1000).toFixed(1)} ms, p95 ≤ ${p95 ? p95 * 1000 : '>5000'} ms, ${errors} retried errors)\n`,
    );
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
    const ctl = op.controller;
    await createVideo(custom, ns, 'metrics', { source: source('metrics') });
    await waitJobs(batch, ns, ['metrics-thumbnail']);
    const server = createHealthServer({
      healthy: () => ctl.healthy(),
      ready: () => ctl.ready(),
      registry: ctl.metrics.registry,
    });
    const port = await listen(server, 0, '127.0.0.1');
    try {
      const get = async (p: string) => {
        const r = await fetch(`http://127.0.0.1:${port}${p}`);
        return { status: r.status, text: await r.text() };
      };
      expect((await get('/healthz')).status).to.equal(200);
      const ready = await get('/readyz');
      expect(ready.status).to.equal(200);
      expect(ready.text).to.contain('caches synced').and.contain('leader');
      const metrics = await waitFor(
        async () => {
          const m = (await get('/metrics')).text;
          return /videoflix_operator_videos\{phase="Processing"\} 1/.test(m) ? m : undefined;
        },
        { what: 'a Processing video in /metrics' },
      );
      expect(metrics).to.match(/videoflix_operator_reconcile_total\{result="success"\} [1-9]/);
      expect(metrics).to.match(
        /videoflix_operator_reconcile_duration_seconds_count\{result="success"\} [1-9]/,
      );
      expect(metrics).to.contain('videoflix_operator_workqueue_depth');
      expect(metrics).to.match(/videoflix_operator_jobs\{task="thumbnail",outcome="Active"\} 1/);
      expect(metrics).to.contain('videoflix_operator_leader 1');
      expect((await get('/nope')).status).to.equal(404);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
