/**
 * The operator end to end on the kind cluster (issue 12), against the platform `make dev` installed with the
 * chart (test/support/platform.ts brings it up when it is not there). Sources are put into the S3 server's
 * source bucket through a port-forward, and Videos are created with kubectl directly in the platform's
 * namespace (not through the API): this tests the operator and the real transcoder Jobs, nothing else.
 *
 * - a 1080p source → Ready through real Jobs; ffprobe on every variant downloaded from the S3 server
 *   (resolution, codecs, key frames), segment boundaries line up across renditions, the master playlist
 *   lists the three variants with attributes that match what ffprobe and the segment sizes say; a 480p
 *   source → 480p only; random bytes → Failed with a readable reason in status and a Warning Event, and no
 *   Pod after that (these three run side by side); each rendition Pod's termination message is its
 *   rendition.json as the real kubelet reports it (what the operator counts at the Pod's exit);
 * - `kubectl wait --for=condition=Ready video/<name>` returns once the Video is Ready;
 * - the leader operator Pod (the Lease's holder) killed while rendition Jobs run → another takes the Lease,
 *   the same Jobs (same uids) finish, no Job is added, the Video ends Ready;
 * - a Video deleted while a rendition Job runs → its Jobs, Pods and every object under `<uid>/` are gone.
 *
 * Run: `npx mocha --config test/.mocharc.e2e.json --grep 'operator end to end' test/e2e/operator.test.ts`
 * (mocha adds a file named on the command line to the config's spec glob, so without --grep every e2e
 * file runs). The root hooks (cluster-hooks.ts) want the test tiers' kind cluster; when only the make dev
 * platform runs, point them at it: CLUSTER_NAME=<its cluster> (hack/dev.sh's CLUSTER_NAME) or
 * CLUSTER_KUBECONFIG=<KUBECONFIG of .dev/endpoints.env>. Killing the leader interrupts the platform's
 * operator for everyone using it for ~10-30 s (the Lease's expiry); it resumes where it stopped.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CONDITION_TYPES,
  DEFAULT_LADDER,
  findCondition,
  isVideoFailed,
  isVideoReady,
  LABELS,
  REASONS,
  rung,
  API_VERSION,
  KIND,
  keys,
  MAX_TERMINATION_MESSAGE_BYTES,
  renditionMetadataSchema,
  type RenditionName,
  type Video,
} from '../../common/video/index.js';
import { createMediaDir, type MediaDir } from '../support/media.js';
import {
  ensurePlatform,
  kubectlAsync,
  kubectlJson,
  NS,
  openS3,
  operatorSettings,
  type OperatorSettings,
  type S3Access,
} from '../support/platform.js';
import { GiveUp, waitFor } from '../support/waiters.js';

const execFileP = promisify(execFile);
const READY_TIMEOUT_MS = Number(process.env.E2E_READY_TIMEOUT_MS ?? 12 * 60_000);
const VIDEOS = `videos.${API_VERSION.split('/')[0]}`;

interface Meta {
  name: string;
  uid: string;
  creationTimestamp: string;
  ownerReferences?: Array<{ uid: string; kind: string; controller?: boolean }>;
  labels?: Record<string, string>;
}
interface Job {
  metadata: Meta;
  spec: { backoffLimit?: number };
  status: {
    active?: number;
    failed?: number;
    succeeded?: number;
    conditions?: Array<{ type: string; status: string; reason?: string }>;
  };
}
interface Pod {
  metadata: Meta;
  status: {
    phase: string;
    containerStatuses?: Array<{
      name: string;
      state?: { terminated?: { exitCode: number; message?: string } };
    }>;
  };
}
interface KEvent {
  type: string;
  reason: string;
  message: string;
  involvedObject: { kind: string; name: string; uid?: string };
}

const jobDone = (j: Job) =>
  (j.status.conditions ?? []).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
const jobComplete = (j: Job) =>
  (j.status.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True');
const isRenditionJob = (j: Job) => j.metadata.labels?.[LABELS.rendition] !== undefined;

function getVideo(name: string): Promise<Video> {
  return kubectlJson<Video>(['get', VIDEOS, name, '-n', NS]);
}
async function videoGone(name: string): Promise<boolean> {
  const out = await kubectlAsync(['get', VIDEOS, name, '-n', NS, '--ignore-not-found', '-o', 'name']);
  return out.trim() === '';
}
async function jobsOf(name: string): Promise<Job[]> {
  return (await kubectlJson<{ items: Job[] }>(['get', 'jobs', '-n', NS, '-l', `${LABELS.video}=${name}`]))
    .items;
}
/**
 * The Video's Jobs once `count` of them are there and all Complete (at most a minute), else as they are:
 * a rendition counts done at its Pod's exit (its termination message), so the Job controller's Complete
 * condition may come a moment after Ready; the caller asserts on what it gets.
 */
async function settledJobs(name: string, count: number): Promise<Job[]> {
  return waitFor(
    async () => {
      const all = await jobsOf(name);
      return all.length === count && all.every(jobComplete) ? all : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: `${count} Jobs of ${name}, all Complete` },
  ).catch(() => jobsOf(name));
}
async function podsOf(name: string): Promise<Pod[]> {
  return (await kubectlJson<{ items: Pod[] }>(['get', 'pods', '-n', NS, '-l', `${LABELS.video}=${name}`]))
    .items;
}
async function eventsOf(name: string): Promise<KEvent[]> {
  return (
    await kubectlJson<{ items: KEvent[] }>([
      'get',
      'events',
      '-n',
      NS,
      '--field-selector',
      `involvedObject.kind=${KIND},involvedObject.name=${name}`,
    ])
  ).items;
}

function waitReady(name: string, timeoutMs = READY_TIMEOUT_MS): Promise<Video> {
  return waitFor(
    async () => {
      const v = await getVideo(name);
      if (isVideoFailed(v)) throw new GiveUp(`Video ${name} Failed: ${v.status?.message ?? ''}`);
      return isVideoReady(v) ? v : undefined;
    },
    { timeoutMs, intervalMs: 2000, what: `Video ${name} Ready` },
  );
}

/** ffprobe of a local file (streams with profile and level, format). */
async function ffprobeJson(file: string, extra: string[] = []): Promise<Record<string, unknown>> {
  const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-of', 'json', ...extra, file], {
    maxBuffer: 32 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

interface StreamInfo {
  codec_type: string;
  codec_name: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  channels?: number;
}

interface VariantCheck {
  name: RenditionName;
  video: StreamInfo;
  audio?: StreamInfo;
  /** First video packet of each segment: time relative to the first segment's, and whether it is a key frame. */
  segmentStarts: number[];
  segmentKey: boolean[];
  /** bits/s from the segment sizes and the playlist's EXTINF durations. */
  peakBps: number;
  averageBps: number;
}

/** Downloads `<uid>/<res>/` from the S3 server into `dir` and probes it as a player would get it. */
async function checkVariant(
  s3: S3Access,
  uid: string,
  res: RenditionName,
  dir: string,
): Promise<VariantCheck> {
  const out = path.join(dir, `${uid}-${res}`);
  await fsp.mkdir(out, { recursive: true });
  const playlist = (await s3.get(s3.mediaBucket, `${uid}/${res}/index.m3u8`)).toString('utf8');
  const lines = playlist.split('\n').map((l) => l.trim());
  const segments: Array<{ uri: string; duration: number }> = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^#EXTINF:([\d.]+)/.exec(lines[i]!);
    if (m) segments.push({ uri: lines[i + 1]!, duration: Number(m[1]) });
  }
  expect(segments.length, `segments in ${res}/index.m3u8`).to.be.greaterThan(0);
  expect(playlist).to.include('#EXT-X-ENDLIST');
  await fsp.writeFile(path.join(out, 'index.m3u8'), playlist);
  const sizes: number[] = [];
  for (const s of segments) {
    expect(s.uri, 'segment name as the original backend named them').to.match(/^segment_\d{3}\.ts$/);
    const bytes = await s3.get(s3.mediaBucket, `${uid}/${res}/${s.uri}`);
    sizes.push(bytes.length);
    await fsp.writeFile(path.join(out, s.uri), bytes);
  }
  const whole = (await ffprobeJson(path.join(out, 'index.m3u8'), ['-show_streams'])) as {
    streams: StreamInfo[];
  };
  const video = whole.streams.find((s) => s.codec_type === 'video');
  const audio = whole.streams.find((s) => s.codec_type === 'audio');
  expect(video, `a video stream in ${res}`).to.not.equal(undefined);
  const firsts: Array<{ t: number; key: boolean }> = [];
  for (const s of segments) {
    const p = (await ffprobeJson(path.join(out, s.uri), [
      '-select_streams',
      'v:0',
      '-show_entries',
      'packet=pts_time,flags',
      '-read_intervals',
      '%+#1',
    ])) as { packets: Array<{ pts_time: string; flags: string }> };
    const first = p.packets[0];
    expect(first, `a video packet in ${res}/${s.uri}`).to.not.equal(undefined);
    firsts.push({ t: Number(first!.pts_time), key: first!.flags.startsWith('K') });
  }
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const totalDuration = segments.reduce((a, s) => a + s.duration, 0);
  return {
    name: res,
    video: video!,
    audio,
    segmentStarts: firsts.map((f) => f.t - firsts[0]!.t),
    segmentKey: firsts.map((f) => f.key),
    peakBps: Math.max(...segments.map((s, i) => (sizes[i]! * 8) / s.duration)),
    averageBps: (totalBytes * 8) / totalDuration,
  };
}

interface Variant {
  attrs: Record<string, string>;
  uri: string;
}
function parseMaster(text: string): Variant[] {
  const lines = text.split('\n').map((l) => l.trim());
  expect(lines[0]).to.equal('#EXTM3U');
  const variants: Variant[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^#EXT-X-STREAM-INF:(.*)$/.exec(lines[i]!);
    if (!m) continue;
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([A-Z-]+)=("[^"]*"|[^,]*)/g)) attrs[a[1]!] = a[2]!.replace(/^"|"$/g, '');
    variants.push({ attrs, uri: lines[i + 1]! });
  }
  return variants;
}

/** The RFC 6381 string of an H.264 stream from ffprobe's profile and level (avc1.PPCCLL). */
function avc1(s: StreamInfo): string {
  const profile: Record<string, string> = {
    High: '6400',
    Main: '4d40',
    'Constrained Baseline': '42c0',
    Baseline: '4200',
  };
  const p = profile[s.profile ?? ''];
  if (!p) throw new Error(`unexpected H.264 profile ${s.profile}`);
  return `avc1.${p}${(s.level ?? 0).toString(16).padStart(2, '0')}`;
}

const within = (actual: number, expected: number, rel: number) =>
  Math.abs(actual - expected) <= expected * rel;

describe('operator end to end on the kind cluster: real Jobs from a source object to an HLS ladder', function () {
  this.timeout(READY_TIMEOUT_MS + 10 * 60_000);
  const tag = Date.now().toString(36);
  const created: string[] = [];
  const sources: string[] = [];
  let s3: S3Access;
  let settings: OperatorSettings;
  let media: MediaDir;

  async function putSource(file: string, name: string): Promise<string> {
    const key = `e2e-operator/${tag}/${name}${path.extname(file)}`;
    await s3.client.fPutObject(s3.sourceBucket, key, file, { 'Content-Type': 'video/mp4' });
    sources.push(key);
    return key;
  }

  async function createVideo(name: string, key: string, title: string): Promise<Video> {
    const video = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name, namespace: NS, labels: { 'e2e.videoflix.io/suite': 'operator' } },
      spec: {
        title,
        description: 'created by test/e2e/operator.test.ts',
        category: 'E2E',
        source: { bucket: s3.sourceBucket, key },
      },
    };
    created.push(name);
    await kubectlAsync(['create', '-f', '-'], { input: JSON.stringify(video) });
    return getVideo(name);
  }

  before(async function () {
    this.timeout(90 * 60_000);
    await ensurePlatform();
    settings = await operatorSettings();
    s3 = await openS3();
    media = await createMediaDir('videoflix-e2e-operator-');
  });

  after(async function () {
    this.timeout(5 * 60_000);
    const problems: string[] = [];
    if (created.length > 0) {
      await kubectlAsync(
        ['delete', VIDEOS, ...created, '-n', NS, '--ignore-not-found', '--wait=true', '--timeout=180s'],
        { timeoutMs: 200_000 },
      ).catch((e: unknown) => problems.push(String(e)));
    }
    for (const key of sources) {
      await s3?.client.removeObject(s3.sourceBucket, key).catch((e: unknown) => problems.push(String(e)));
    }
    await s3?.stop();
    await media?.cleanup();
    if (problems.length > 0) throw new Error(`clean-up: ${problems.join('; ')}`);
  });

  describe('a 1080p source, a 480p source and random bytes, processed side by side', function () {
    const hd = `e2e-op-${tag}-hd`;
    const sd = `e2e-op-${tag}-sd`;
    const bad = `e2e-op-${tag}-bad`;
    let kubectlWait: Promise<{ ok: boolean; output: string; at: number }>;
    const variants = new Map<RenditionName, Promise<VariantCheck>>();
    const variant = (uid: string, res: RenditionName) => {
      if (!variants.has(res)) variants.set(res, checkVariant(s3, uid, res, media.dir));
      return variants.get(res)!;
    };

    before(async function () {
      this.timeout(5 * 60_000);
      // 7 s at 6 s segments: two segments, so there is a boundary to line up
      const [hdClip, sdClip, junk] = await Promise.all([
        media.clip({ durationSec: 7, width: 1920, height: 1080 }),
        media.clip({ durationSec: 4, width: 854, height: 480 }),
        media.randomFile(256 * 1024),
      ]);
      const [hdKey, sdKey, badKey] = await Promise.all([
        putSource(hdClip, 'hd'),
        putSource(sdClip, 'sd'),
        putSource(junk, 'bad'),
      ]);
      await createVideo(hd, hdKey, `E2E operator 1080p ${tag}`);
      // kubectl wait starts before the Video can be Ready: it has to wait, not find it done
      kubectlWait = kubectlAsync(
        ['wait', '--for=condition=Ready', `video/${hd}`, '-n', NS, `--timeout=${READY_TIMEOUT_MS / 1000}s`],
        { timeoutMs: READY_TIMEOUT_MS + 60_000 },
      ).then(
        (output) => ({ ok: true, output, at: Date.now() }),
        (e: unknown) => ({ ok: false, output: String(e), at: Date.now() }),
      );
      await createVideo(sd, sdKey, `E2E operator 480p ${tag}`);
      await createVideo(bad, badKey, `E2E operator random bytes ${tag}`);
    });

    it('the 1080p source becomes Ready through real Jobs, and kubectl wait --for=condition=Ready returns', async function () {
      const t0 = Date.now();
      const v = await waitReady(hd);
      const readyAt = Date.now();
      console.log(`      ${hd} Ready after ${((readyAt - t0) / 1000).toFixed(0)} s of waiting`);
      expect(v.status?.phase).to.equal('Ready');
      expect(findCondition(v.status?.conditions, CONDITION_TYPES.ready)?.status).to.equal('True');
      expect(v.status?.renditionsSummary).to.equal('3/3');
      expect(v.status?.renditions?.map((r) => [r.name, r.phase])).to.have.deep.members([
        ['480p', 'Succeeded'],
        ['720p', 'Succeeded'],
        ['1080p', 'Succeeded'],
      ]);
      expect(v.status?.source?.width).to.equal(1920);
      expect(v.status?.source?.height).to.equal(1080);
      expect(v.status?.source?.durationSeconds).to.be.closeTo(7, 0.5);

      const jobs = await settledJobs(hd, 4);
      expect(jobs.map((j) => j.metadata.name)).to.have.members([
        `${hd}-thumbnail`,
        `${hd}-480p`,
        `${hd}-720p`,
        `${hd}-1080p`,
      ]);
      for (const j of jobs) {
        expect(jobComplete(j), `Job ${j.metadata.name} Complete`).to.equal(true);
        expect(j.metadata.ownerReferences![0]).to.include({
          kind: KIND,
          uid: v.metadata.uid,
          controller: true,
        });
      }
      const thumb = await s3.get(s3.mediaBucket, v.status!.thumbnailKey!);
      expect([...thumb.subarray(0, 3)], 'thumbnail is a JPEG').to.deep.equal([0xff, 0xd8, 0xff]);

      // kubectl wait, started right after the Video was created, returned with the Video Ready
      const w = await kubectlWait;
      expect(w.ok, w.output).to.equal(true);
      expect(w.output).to.include('condition met');
      expect(w.at - readyAt, 'kubectl wait returned within one poll of Ready').to.be.lessThan(10_000);
      // and on a Ready Video it returns at once
      const again = await kubectlAsync([
        'wait',
        '--for=condition=Ready',
        `video/${hd}`,
        '-n',
        NS,
        '--timeout=20s',
      ]);
      expect(again).to.include('condition met');
    });

    it('ffprobe on each variant in the S3 server: resolution, H.264 + AAC, key frames at every segment start; boundaries line up', async function () {
      const v = await waitReady(hd);
      const uid = v.metadata.uid!;
      const checks = await Promise.all((['480p', '720p', '1080p'] as const).map((r) => variant(uid, r)));
      for (const c of checks) {
        const r = rung(c.name);
        expect(c.video.codec_name, `${c.name} video codec`).to.equal('h264');
        expect([c.video.width, c.video.height], `${c.name} size`).to.deep.equal([r.width, r.height]);
        expect(c.video.profile, `${c.name} profile`).to.equal('High');
        expect(c.audio?.codec_name, `${c.name} audio codec`).to.equal('aac');
        expect(c.audio?.channels).to.equal(2);
        expect(c.segmentKey, `${c.name}: every segment starts on a key frame`).to.not.include(false);
        expect(c.segmentStarts.length, `${c.name}: two segments of a 7 s source`).to.equal(2);
      }
      const [first, ...rest] = checks;
      for (const c of rest) {
        expect(c.segmentStarts.length, `${c.name} segment count = ${first!.name}'s`).to.equal(
          first!.segmentStarts.length,
        );
        c.segmentStarts.forEach((t, i) =>
          expect(t, `${c.name} segment ${i} start vs ${first!.name}`).to.be.closeTo(
            first!.segmentStarts[i]!,
            0.1,
          ),
        );
      }
      expect(first!.segmentStarts[1]).to.be.closeTo(DEFAULT_LADDER.segmentSeconds, 0.1);
    });

    it('the master playlist lists the three variants with attributes that match the variants', async function () {
      const v = await waitReady(hd);
      const uid = v.metadata.uid!;
      expect(v.status?.masterPlaylistKey).to.equal(`${uid}/master.m3u8`);
      const variantsOfMaster = parseMaster(
        (await s3.get(s3.mediaBucket, v.status!.masterPlaylistKey!)).toString('utf8'),
      );
      expect(variantsOfMaster.map((x) => x.uri)).to.deep.equal([
        '480p/index.m3u8',
        '720p/index.m3u8',
        '1080p/index.m3u8',
      ]);
      let lastBandwidth = 0;
      for (const m of variantsOfMaster) {
        const name = m.uri.split('/')[0] as RenditionName;
        const c = await variant(uid, name);
        const bw = Number(m.attrs.BANDWIDTH);
        const avg = Number(m.attrs['AVERAGE-BANDWIDTH']);
        expect(m.attrs.RESOLUTION, name).to.equal(`${c.video.width}x${c.video.height}`);
        expect(m.attrs.CODECS, name).to.equal(`${avc1(c.video)},mp4a.40.2`);
        expect(Number(m.attrs['FRAME-RATE']), name).to.be.closeTo(25, 0.01);
        expect(bw, `${name} BANDWIDTH ≥ AVERAGE-BANDWIDTH`).to.be.at.least(avg);
        expect(bw, `${name} BANDWIDTH above the previous variant's`).to.be.greaterThan(lastBandwidth);
        lastBandwidth = bw;
        expect(
          within(bw, c.peakBps, 0.1),
          `${name} BANDWIDTH ${bw} vs measured peak ${c.peakBps.toFixed(0)}`,
        ).to.equal(true);
        expect(
          within(avg, c.averageBps, 0.1),
          `${name} AVERAGE-BANDWIDTH ${avg} vs measured ${c.averageBps.toFixed(0)}`,
        ).to.equal(true);
      }
    });

    it("each rendition Pod's termination message is its rendition.json (the operator counts it at the Pod's exit)", async function () {
      const v = await waitReady(hd);
      const uid = v.metadata.uid!;
      const pods = await podsOf(hd);
      for (const r of ['480p', '720p', '1080p'] as const) {
        const pod = pods.find(
          (p) => p.metadata.labels?.[LABELS.rendition] === r && p.status.phase === 'Succeeded',
        );
        expect(pod, `a Succeeded Pod of ${hd}-${r}`).to.not.equal(undefined);
        const t = pod!.status.containerStatuses?.find((c) => c.name === 'transcoder')?.state?.terminated;
        expect(t?.exitCode, `${r} exit code`).to.equal(0);
        const message = t?.message ?? '';
        expect(Buffer.byteLength(message), `${r} message within the kubelet's limit`).to.be.within(
          1,
          MAX_TERMINATION_MESSAGE_BYTES,
        );
        const stored = JSON.parse(
          (await s3.get(s3.mediaBucket, keys.renditionMeta(uid, r))).toString('utf8'),
        );
        expect(JSON.parse(message), `${r}: the message is rendition.json`).to.deep.equal(stored);
        expect(renditionMetadataSchema.safeParse(JSON.parse(message)).success, `${r} schema`).to.equal(true);
      }
    });

    it('a 480p source yields 480p only (no upscaling)', async function () {
      const v = await waitReady(sd);
      const uid = v.metadata.uid!;
      expect(v.status?.renditions?.map((r) => [r.name, r.phase])).to.have.deep.members([
        ['480p', 'Succeeded'],
        ['720p', 'Skipped'],
        ['1080p', 'Skipped'],
      ]);
      expect((await jobsOf(sd)).map((j) => j.metadata.name)).to.have.members([
        `${sd}-thumbnail`,
        `${sd}-480p`,
      ]);
      const keys = await s3.list(s3.mediaBucket, `${uid}/`);
      expect(keys.filter((k) => k.startsWith(`${uid}/720p/`) || k.startsWith(`${uid}/1080p/`))).to.deep.equal(
        [],
      );
      const master = parseMaster((await s3.get(s3.mediaBucket, `${uid}/master.m3u8`)).toString('utf8'));
      expect(master.map((m) => [m.uri, m.attrs.RESOLUTION])).to.deep.equal([['480p/index.m3u8', '854x480']]);
      const c = await checkVariant(s3, uid, '480p', media.dir);
      expect([c.video.codec_name, c.video.width, c.video.height]).to.deep.equal(['h264', 854, 480]);
    });

    it('random bytes as a source → Failed with a readable reason in status and a Warning Event, and no retry after that', async function () {
      const v = await waitFor(
        async () => {
          const x = await getVideo(bad);
          if (isVideoReady(x)) throw new GiveUp(`random bytes became Ready`);
          return isVideoFailed(x) ? x : undefined;
        },
        { timeoutMs: READY_TIMEOUT_MS, intervalMs: 2000, what: `Video ${bad} Failed` },
      );
      const failed = findCondition(v.status?.conditions, CONDITION_TYPES.failed)!;
      const ready = findCondition(v.status?.conditions, CONDITION_TYPES.ready);
      expect(v.status?.phase).to.equal('Failed');
      expect(failed.reason).to.equal(REASONS.invalidSource);
      expect(ready?.status).to.equal('False');
      // readable: one short line that says what is wrong with the source, no stack trace, no exit code only
      for (const msg of [failed.message, v.status?.message ?? '']) {
        expect(msg).to.match(/source/i);
        expect(msg).to.match(/invalid|unreadable|not a video|no video/i);
        expect(msg).to.not.match(/\n|\s+at\s+\S+\s+\(|ENOENT|undefined|\[object/);
        expect(msg.length).to.be.within(10, 300);
      }
      const warning = await waitFor(
        async () =>
          (await eventsOf(bad)).find(
            (e) => e.type === 'Warning' && e.message.includes(failed.message.slice(0, 40)),
          ),
        {
          timeoutMs: 30_000,
          intervalMs: 1000,
          what: `a Warning Event on ${bad} carrying "${failed.message}"`,
        },
      );
      expect(warning.reason).to.match(/^[A-Z][A-Za-z]+$/);

      // the thumbnail/probe Job failed for good at once (bad input); the rendition Jobs started with it
      // (they fail on the same bytes) are deleted, their Pods with them
      const jobs = await waitFor(
        async () => {
          const l = await jobsOf(bad);
          return l.length === 1 ? l : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000, what: `only the thumbnail Job of ${bad} left` },
      );
      expect(jobs.map((j) => j.metadata.name)).to.deep.equal([`${bad}-thumbnail`]);
      const job = jobs[0]!;
      const jobFailed = job.status.conditions?.find((c) => c.type === 'Failed');
      expect(jobFailed?.status).to.equal('True');
      // bad input (exit code 2) fails the Job through its podFailurePolicy after one Pod, not after backoffLimit
      expect(jobFailed?.reason).to.equal('PodFailurePolicy');
      expect(job.status.failed).to.equal(1);
      // no retrying forever: nothing runs, no Pod was started after the Video went Failed, and it stays Failed
      const pods = await waitFor(
        async () => {
          const l = await podsOf(bad);
          return l.length === 1 ? l : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000, what: `only the thumbnail Pod of ${bad} left` },
      );
      expect(pods.length).to.equal(1);
      expect(pods.filter((p) => p.status.phase === 'Running' || p.status.phase === 'Pending')).to.deep.equal(
        [],
      );
      const failedSince = Date.parse(failed.lastTransitionTime);
      for (const p of pods) expect(Date.parse(p.metadata.creationTimestamp)).to.be.at.most(failedSince);
      const later = await getVideo(bad);
      expect(later.status?.phase).to.equal('Failed');
      expect(findCondition(later.status?.conditions, CONDITION_TYPES.failed)?.lastTransitionTime).to.equal(
        failed.lastTransitionTime,
      );
      console.log(
        `      Failed for ${((Date.now() - failedSince) / 1000).toFixed(0)} s, still Failed: "${failed.message}"`,
      );
    });
  });

  describe('the leader operator Pod killed while rendition Jobs run', function () {
    const name = `e2e-op-${tag}-restart`;

    before(async function () {
      const clip = await media.clip({ durationSec: 6, width: 1920, height: 1080 });
      await createVideo(name, await putSource(clip, 'restart'), `E2E operator restart ${tag}`);
    });

    it('a new leader takes over; the same Jobs (same uids) finish, none is added, the Video ends Ready', async function () {
      // rendition Jobs exist and at least one is still running
      const before = await waitFor(
        async () => {
          const jobs = await jobsOf(name);
          const renditions = jobs.filter(isRenditionJob);
          return renditions.length === 3 && renditions.some((j) => !jobDone(j)) ? jobs : undefined;
        },
        {
          timeoutMs: READY_TIMEOUT_MS,
          intervalMs: 1000,
          what: `3 rendition Jobs of ${name}, one still running`,
        },
      );
      const lease = await kubectlJson<{ spec: { holderIdentity?: string } }>([
        'get',
        'lease',
        settings.leaseName,
        '-n',
        NS,
      ]);
      const leader = lease.spec.holderIdentity;
      expect(leader, `holder of Lease ${settings.leaseName}`).to.be.a('string').and.not.equal('');
      const leaderPod = await kubectlJson<Pod>(['get', 'pod', leader!, '-n', NS]);
      await kubectlAsync(['delete', 'pod', leader!, '-n', NS, '--grace-period=0', '--force', '--wait=false']);
      const killedAt = Date.now();
      // it really was mid-way: a rendition Job was still running after the kill
      const atKill = await jobsOf(name);
      expect(
        atKill.filter(isRenditionJob).some((j) => !jobDone(j)),
        'a rendition Job still running at the kill',
      ).to.equal(true);

      const newLeader = await waitFor(
        async () => {
          const l = await kubectlJson<{ spec: { holderIdentity?: string } }>([
            'get',
            'lease',
            settings.leaseName,
            '-n',
            NS,
          ]);
          const h = l.spec.holderIdentity;
          if (!h || h === leader) return undefined;
          const p = await kubectlJson<Pod>(['get', 'pod', h, '-n', NS]);
          return p.status.phase === 'Running' ? h : undefined;
        },
        {
          timeoutMs: 3 * 60_000,
          intervalMs: 1000,
          what: `a new holder of Lease ${settings.leaseName} (was ${leader})`,
        },
      );
      console.log(
        `      leader ${leader} killed; ${newLeader} holds the Lease after ${((Date.now() - killedAt) / 1000).toFixed(0)} s`,
      );
      expect(leaderPod.metadata.uid).to.be.a('string');

      const v = await waitReady(name);
      expect(v.status?.renditionsSummary).to.equal('3/3');
      const after = await settledJobs(name, 4);
      const uids = (jobs: Job[]) => Object.fromEntries(jobs.map((j) => [j.metadata.name, j.metadata.uid]));
      expect(uids(after), 'the same Jobs, same uids, none added').to.deep.equal(uids(before));
      expect(after).to.have.length(4);
      for (const j of after) expect(jobComplete(j), `${j.metadata.name} Complete`).to.equal(true);
      // each Job ran its Pods to the end: no Job was replaced, so no Job was created after the kill
      for (const j of after) expect(Date.parse(j.metadata.creationTimestamp)).to.be.lessThan(killedAt);
    });
  });

  describe('a Video deleted while processing', function () {
    const name = `e2e-op-${tag}-delete`;

    before(async function () {
      const clip = await media.clip({ durationSec: 6, width: 1920, height: 1080 });
      await createVideo(name, await putSource(clip, 'delete'), `E2E operator delete ${tag}`);
    });

    it('its Jobs, Pods and every object under <uid>/ in the S3 server are gone, then the Video', async function () {
      const v = await getVideo(name);
      const uid = v.metadata.uid!;
      // a rendition Job runs (its Pod too), and the thumbnail Job already wrote objects under <uid>/
      await waitFor(
        async () => {
          const running = (await jobsOf(name)).filter((j) => isRenditionJob(j) && (j.status.active ?? 0) > 0);
          const pods = (await podsOf(name)).filter(
            (p) => p.metadata.labels?.[LABELS.rendition] && p.status.phase === 'Running',
          );
          return (
            running.length > 0 && pods.length > 0 && (await s3.list(s3.mediaBucket, `${uid}/`)).length > 0
          );
        },
        {
          timeoutMs: READY_TIMEOUT_MS,
          intervalMs: 1000,
          what: `a running rendition Job of ${name} and objects under ${uid}/`,
        },
      );
      const objectsBefore = await s3.list(s3.mediaBucket, `${uid}/`);
      const still = (await getVideo(name)).status?.phase;
      expect(still, 'deleted while processing').to.equal('Processing');

      await kubectlAsync(['delete', VIDEOS, name, '-n', NS, '--wait=false']);
      const deletedAt = Date.now();
      await waitFor(async () => videoGone(name), {
        timeoutMs: 5 * 60_000,
        intervalMs: 1000,
        what: `Video ${name} gone`,
      });
      console.log(
        `      ${name} gone ${((Date.now() - deletedAt) / 1000).toFixed(0)} s after kubectl delete (${objectsBefore.length} objects under <uid>/ before)`,
      );
      // the finalizer goes only after the clean-up: everything is gone by the time the Video is
      expect(await jobsOf(name), 'Jobs').to.deep.equal([]);
      expect(
        (await podsOf(name)).map((p) => `${p.metadata.name} ${p.status.phase}`),
        'Pods',
      ).to.deep.equal([]);
      expect(
        await s3.list(s3.mediaBucket, `${uid}/`),
        `objects under ${uid}/ (were ${objectsBefore.length})`,
      ).to.deep.equal([]);
      const events = await eventsOf(name);
      expect(events.map((e) => e.reason)).to.include(REASONS.mediaDeleted);
    });
  });
});
