/**
 * The transcoder program as the Job runs it: the one-file bundle the image carries (built here by
 * hack/bundle-transcoder.ts, the image's own step) as a child process (`node <bundle> ...`) with real
 * ffmpeg against the host tier's S3 server, on clips generated here. Outputs are checked with ffprobe/ffmpeg independently of the program's own
 * measurements.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from 'minio';
import {
  EXIT_CODES,
  keys,
  MAX_TERMINATION_MESSAGE_BYTES,
  type ProbeResult,
  type RenditionMetadata,
} from '../../../common/video/index.js';
import type { MediaDir } from '../../support/media.js';
import { freePort } from '../../support/hostenv.js';
import {
  explain,
  listKeys as listKeysIn,
  removeBuckets,
  runTranscoder,
  s3,
  setUpRun,
  type RunResult,
} from './helpers.js';

const execFileP = promisify(execFile);

async function ffprobeJson(file: string, args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-of', 'json', ...args, file], {
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

interface FfStream {
  codec_type: string;
  codec_name: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  channels?: number;
  sample_rate?: string;
  r_frame_rate?: string;
}

async function streamsOf(file: string): Promise<FfStream[]> {
  return (await ffprobeJson(file, ['-show_streams'])).streams as FfStream[];
}

/** Video packets of a file in decode order: pts (s) and key flag. */
async function videoPackets(file: string): Promise<{ pts: number; key: boolean }[]> {
  const j = await ffprobeJson(file, ['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags']);
  return (j.packets as { pts_time: string; flags: string }[]).map((p) => ({
    pts: Number(p.pts_time),
    key: p.flags.startsWith('K'),
  }));
}

/** profile_idc, constraint flags, level_idc read from the SPS NAL unit itself (Annex B stream). */
async function spsBytes(segment: string): Promise<string> {
  const { stdout } = await execFileP(
    'ffmpeg',
    ['-v', 'error', '-i', segment, '-map', '0:v:0', '-c', 'copy', '-frames:v', '1', '-f', 'h264', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 << 20 },
  );
  for (let i = 0; i + 6 < stdout.length; i++) {
    if (stdout[i] === 0 && stdout[i + 1] === 0 && stdout[i + 2] === 1 && (stdout[i + 3]! & 0x1f) === 7) {
      return stdout.subarray(i + 4, i + 7).toString('hex');
    }
  }
  throw new Error(`no SPS in ${segment}`);
}

describe('transcoder program (real ffmpeg, real S3)', function () {
  this.timeout(240_000);
  this.slow(20_000);

  const run8 = crypto.randomBytes(4).toString('hex');
  const sourceBucket = `tx-src-${run8}`;
  const mediaBucket = `tx-media-${run8}`;
  let client: Client;
  let media: MediaDir;
  let work: string;
  let bundle: string;
  const src = {
    hd: 'hd/source.mp4',
    silent: 'silent/source.mp4',
    random: 'random/source',
    audioOnly: 'audio-only/source.m4a',
    empty: 'empty/source.mp4',
  };

  before(async function () {
    this.timeout(180_000);
    client = s3();
    ({ media, work, bundle } = await setUpRun(client, sourceBucket, mediaBucket, 'tx-it-'));
    const [hd, silent, random] = await Promise.all([
      media.clip({ width: 1920, height: 1080, durationSec: 8, fps: 30, audio: true }),
      media.clip({ width: 640, height: 360, durationSec: 4, fps: 25, audio: false }),
      media.randomFile(256 * 1024),
    ]);
    await client.fPutObject(sourceBucket, src.hd, hd, {});
    await client.fPutObject(sourceBucket, src.silent, silent, {});
    await client.fPutObject(sourceBucket, src.random, random, {});
    const audioOnly = path.join(media.dir, 'tone.m4a');
    await execFileP('ffmpeg', [
      '-v',
      'error',
      '-nostdin',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000:duration=3',
      '-c:a',
      'aac',
      audioOnly,
    ]);
    await client.fPutObject(sourceBucket, src.audioOnly, audioOnly, {});
    await client.putObject(sourceBucket, src.empty, Buffer.alloc(0), 0);
  });

  after(async () => {
    await removeBuckets(client, [sourceBucket, mediaBucket], 'transcoder test');
    await media?.cleanup();
  });

  const transcode = (args: string[], env: Record<string, string>): Promise<RunResult> =>
    runTranscoder({ bundle, work, sourceBucket, mediaBucket }, args, env);
  const listKeys = (prefix: string) => listKeysIn(client, mediaBucket, prefix);

  async function download(key: string): Promise<string> {
    const file = path.join(work, 'dl', key);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await client.fGetObject(mediaBucket, key, file);
    return file;
  }

  async function contentType(key: string): Promise<string> {
    const st = await client.statObject(mediaBucket, key);
    return String(st.metaData['content-type']);
  }

  async function readJson<T>(key: string): Promise<T> {
    return JSON.parse(await fsp.readFile(await download(key), 'utf8')) as T;
  }

  describe('rendition 720p of a 1080p clip with audio', () => {
    const id = `hd-${run8}`;
    let result: RunResult;
    let meta: RenditionMetadata;
    let playlist: string;
    const segments: { key: string; file: string; extinf: number }[] = [];

    before(async function () {
      this.timeout(240_000);
      result = await transcode(['rendition', '720p'], { VIDEO_ID: id, SOURCE_KEY: src.hd });
      expect(result.code, explain(result)).to.equal(0);
      playlist = await fsp.readFile(await download(keys.playlist(id, '720p')), 'utf8');
      const lines = playlist.split('\n');
      for (let i = 0; i < lines.length; i++) {
        if (lines[i]!.startsWith('#EXTINF:')) {
          const key = keys.segment(id, '720p', lines[i + 1]!);
          segments.push({ key, file: await download(key), extinf: Number.parseFloat(lines[i]!.slice(8)) });
        }
      }
      meta = await readJson<RenditionMetadata>(keys.renditionMeta(id, '720p'));
    });

    it('writes index.m3u8, segment_NNN.ts and rendition.json with their content types, nothing in the source bucket', async () => {
      expect(await listKeys(`${id}/`)).to.deep.equal([
        `${id}/720p/index.m3u8`,
        `${id}/720p/rendition.json`,
        `${id}/720p/segment_000.ts`,
        `${id}/720p/segment_001.ts`,
      ]);
      expect(await contentType(`${id}/720p/index.m3u8`)).to.equal('application/vnd.apple.mpegurl');
      expect(await contentType(`${id}/720p/segment_000.ts`)).to.equal('video/MP2T');
      expect(await contentType(`${id}/720p/rendition.json`)).to.equal('application/json');
    });

    it("leaves rendition.json as its termination message, compact and under the kubelet's 4 KiB", () => {
      expect(result.termination, 'termination message').to.be.a('string');
      expect(Buffer.byteLength(result.termination!)).to.be.at.most(MAX_TERMINATION_MESSAGE_BYTES);
      expect(result.termination).to.not.include('\n');
      expect(JSON.parse(result.termination!)).to.deep.equal(meta);
    });

    it('is an HLS VOD playlist of 6 s segments', () => {
      expect(playlist).to.match(/^#EXTM3U\n/);
      expect(playlist).to.include('#EXT-X-PLAYLIST-TYPE:VOD');
      expect(playlist).to.include('#EXT-X-TARGETDURATION:6');
      expect(playlist.trimEnd().endsWith('#EXT-X-ENDLIST')).to.equal(true);
      expect(segments.map((s) => path.basename(s.key))).to.deep.equal(['segment_000.ts', 'segment_001.ts']);
      expect(segments[0]!.extinf).to.be.closeTo(6, 0.05);
      expect(segments[1]!.extinf).to.be.closeTo(2, 0.05);
    });

    it('segments are 1280x720 H.264 High + AAC stereo 48 kHz', async () => {
      for (const s of segments) {
        const streams = await streamsOf(s.file);
        const v = streams.find((x) => x.codec_type === 'video')!;
        const a = streams.find((x) => x.codec_type === 'audio')!;
        expect(v).to.include({ codec_name: 'h264', profile: 'High', width: 1280, height: 720 });
        expect(a).to.include({ codec_name: 'aac', profile: 'LC', channels: 2, sample_rate: '48000' });
      }
    });

    it('every segment starts on a key frame, with key frames every 2 s', async () => {
      const firstPts: number[] = [];
      for (const s of segments) {
        const packets = await videoPackets(s.file);
        expect(packets[0]!.key, `${s.key} starts with a key frame`).to.equal(true);
        firstPts.push(packets[0]!.pts);
        const keyTimes = packets
          .filter((p) => p.key)
          .map((p) => Math.round((p.pts - firstPts[0]!) * 1000) / 1000);
        for (const t of keyTimes) expect(t % 2, `key frame at ${t}s on the 2 s grid`).to.be.closeTo(0, 0.001);
      }
      const keyTimes0 = (await videoPackets(segments[0]!.file))
        .filter((p) => p.key)
        .map((p) => p.pts - firstPts[0]!);
      expect(keyTimes0.map((t) => Math.round(t * 1000) / 1000)).to.deep.equal([0, 2, 4]);
      expect(firstPts[1]! - firstPts[0]!).to.be.closeTo(6, 0.001);
    });

    it('rendition.json carries the measured values', async () => {
      expect(meta).to.include({
        name: '720p',
        width: 1280,
        height: 720,
        frameRate: 30,
        segmentDuration: 6,
        segmentCount: 2,
        hasAudio: true,
      });
      expect(meta.segmentStarts).to.deep.equal([0, 6]);
      expect(meta.durationSeconds).to.be.closeTo(8, 0.05);

      // CODECS agrees with the SPS bytes of the stream itself (profile_idc, constraints, level_idc)
      const sps = await spsBytes(segments[0]!.file);
      expect(sps.slice(0, 2)).to.equal('64'); // High
      expect(meta.codecs).to.equal(`avc1.${sps},mp4a.40.2`);

      // bandwidth recomputed from the downloaded segments and the playlist's durations
      const sizes = await Promise.all(segments.map(async (s) => (await fsp.stat(s.file)).size));
      const rates = segments.map((s, i) => (sizes[i]! * 8) / s.extinf);
      expect(meta.bandwidth).to.equal(Math.ceil(Math.max(...rates)));
      const avg = (sizes.reduce((a, b) => a + b, 0) * 8) / segments.reduce((a, s) => a + s.extinf, 0);
      expect(meta.averageBandwidth).to.equal(Math.ceil(avg));
      expect(meta.bandwidth).to.be.at.least(meta.averageBandwidth);
    });

    it('keeps to the rate control: near 2800k on average, no segment beyond maxrate + bufsize', async () => {
      // 2800k video + 128k audio, plus a few percent of MPEG-TS overhead
      expect(meta.averageBandwidth).to.be.within(2_000_000, 3_400_000);
      for (const s of segments) {
        const bits = (await fsp.stat(s.file)).size * 8;
        // VBV: video bits over d seconds ≤ maxrate·d + bufsize; audio 128k; 10% for TS overhead
        const limit = ((2996 + 128) * s.extinf + 4200) * 1000 * 1.1;
        expect(bits, `${s.key}: ${bits} bits in ${s.extinf}s`).to.be.at.most(limit);
      }
    });

    it('reports its work in JSON logs', () => {
      const lines = result.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const done = lines.find((l) => l.msg === 'done');
      expect(done).to.include({ level: 'info', videoId: id, task: 'rendition', rendition: '720p' });
      expect(result.stdout).not.to.match(/X-Amz-Signature/);
    });

    it('480p of the same source has segment boundaries at the same times', async function () {
      this.timeout(240_000);
      const r = await transcode(['rendition', '480p'], { VIDEO_ID: id, SOURCE_KEY: src.hd });
      expect(r.code, explain(r)).to.equal(0);
      const low = await readJson<RenditionMetadata>(keys.renditionMeta(id, '480p'));
      expect(low).to.include({ width: 854, height: 480 });
      expect(low.codecs).to.match(/^avc1\.6400(1e|1f),mp4a\.40\.2$/);
      expect(low.segmentStarts).to.deep.equal(meta.segmentStarts);
      for (const name of ['segment_000.ts', 'segment_001.ts']) {
        const [a, b] = await Promise.all([
          videoPackets(await download(keys.segment(id, '480p', name))),
          videoPackets(await download(keys.segment(id, '720p', name))),
        ]);
        expect(a[0]!.key).to.equal(true);
        expect(a[0]!.pts, `${name} starts at the same time in both renditions`).to.equal(b[0]!.pts);
      }
      expect(low.averageBandwidth).to.be.below(meta.averageBandwidth);
    });
  });

  describe('thumbnail', () => {
    it('writes probe.json and a decodable JPEG', async () => {
      const id = `thumb-${run8}`;
      const r = await transcode(['thumbnail'], { VIDEO_ID: id, SOURCE_KEY: src.hd });
      expect(r.code, explain(r)).to.equal(0);
      expect(await listKeys(`${id}/`)).to.deep.equal([keys.probe(id), keys.thumbnail(id)]);
      expect(r.termination, 'the thumbnail task leaves no termination message').to.equal(undefined);
      const probe = await readJson<ProbeResult>(keys.probe(id));
      expect(probe).to.deep.equal({
        durationSeconds: 8,
        width: 1920,
        height: 1080,
        hasAudio: true,
        videoCodec: 'h264',
        frameRate: 30,
      });
      expect(await contentType(keys.thumbnail(id))).to.equal('image/jpeg');
      expect(await contentType(keys.probe(id))).to.equal('application/json');
      const jpg = await download(keys.thumbnail(id));
      const head = (await fsp.readFile(jpg)).subarray(0, 3).toString('hex');
      expect(head).to.equal('ffd8ff');
      const [s] = await streamsOf(jpg);
      expect(s).to.include({ codec_name: 'mjpeg', width: 1280, height: 720 });
      await execFileP('ffmpeg', ['-v', 'error', '-xerror', '-i', jpg, '-f', 'null', '-']); // decodes without error
      const log = r.stdout.split('\n').find((l) => l.includes('thumbnail and probe written'))!;
      expect((JSON.parse(log) as { thumbnailAt: number }).thumbnailAt).to.equal(0.8); // 10% of 8 s
    });

    it('clamps a thumbnail time past the end', async () => {
      const id = `thumb-late-${run8}`;
      const r = await transcode(['thumbnail'], { VIDEO_ID: id, SOURCE_KEY: src.hd, THUMBNAIL_TIME: '600' });
      expect(r.code, explain(r)).to.equal(0);
      const log = r.stdout.split('\n').find((l) => l.includes('thumbnail and probe written'))!;
      expect((JSON.parse(log) as { thumbnailAt: number }).thumbnailAt).to.equal(7.5);
      expect((await streamsOf(await download(keys.thumbnail(id))))[0]).to.include({ codec_name: 'mjpeg' });
    });
  });

  describe('a clip without audio', () => {
    it('encodes video only (CODECS without mp4a), honours SEGMENT_SECONDS, never upscales; probe says no audio', async function () {
      this.timeout(240_000);
      const id = `silent-${run8}`;
      const r = await transcode(['rendition', '720p'], {
        VIDEO_ID: id,
        SOURCE_KEY: src.silent,
        SEGMENT_SECONDS: '2',
      });
      expect(r.code, explain(r)).to.equal(0);
      const meta = await readJson<RenditionMetadata>(keys.renditionMeta(id, '720p'));
      expect(meta).to.include({
        width: 640,
        height: 360,
        hasAudio: false,
        frameRate: 25,
        segmentDuration: 2,
        segmentCount: 2,
      });
      expect(meta.codecs).to.match(/^avc1\.6400[0-9a-f]{2}$/);
      expect(meta.codecs).to.equal(
        `avc1.${await spsBytes(await download(keys.segment(id, '720p', 'segment_000.ts')))}`,
      );
      expect(meta.segmentStarts).to.deep.equal([0, 2]);
      const streams = await streamsOf(await download(keys.segment(id, '720p', 'segment_001.ts')));
      expect(streams.map((s) => s.codec_type)).to.deep.equal(['video']);

      const t = await transcode(['thumbnail'], { VIDEO_ID: id, SOURCE_KEY: src.silent });
      expect(t.code, explain(t)).to.equal(0);
      const probe = await readJson<ProbeResult>(keys.probe(id));
      expect(probe).to.deep.equal({
        durationSeconds: 4,
        width: 640,
        height: 360,
        hasAudio: false,
        videoCodec: 'h264',
        frameRate: 25,
      });
    });
  });

  describe('SKIP_TALLER_THAN_SOURCE (a rendition Job started before the probe)', () => {
    it('a rung taller than the source: exit 0 at once, nothing written, the reason logged', async () => {
      const id = `skip-${run8}`;
      const r = await transcode(['rendition', '720p'], {
        VIDEO_ID: id,
        SOURCE_KEY: src.silent, // 640x360
        SKIP_TALLER_THAN_SOURCE: '1',
      });
      expect(r.code, explain(r)).to.equal(0);
      expect(await listKeys(`${id}/`)).to.deep.equal([]);
      expect(r.stdout).to.match(/skipped: 720p \(720p\) is taller than the 360p source/);
      expect(r.stdout).to.not.match(/"encoding"/);
      expect(r.termination, 'no termination message: nothing for the operator to count').to.equal(undefined);
    });

    it('does not hide bad input: random bytes still exit 2', async () => {
      const r = await transcode(['rendition', '1080p'], {
        VIDEO_ID: `skip-random-${run8}`,
        SOURCE_KEY: src.random,
        SKIP_TALLER_THAN_SOURCE: '1',
      });
      expect(r.code, explain(r)).to.equal(EXIT_CODES.badInput);
      expect(r.termination).to.match(/^source unreadable: /);
    });
  });

  describe('failures', () => {
    it('random bytes → exit 2, "source unreadable" in the termination message, nothing written', async () => {
      const id = `random-${run8}`;
      for (const args of [['rendition', '720p'], ['thumbnail']]) {
        const r = await transcode(args, { VIDEO_ID: id, SOURCE_KEY: src.random });
        expect(r.code, explain(r)).to.equal(EXIT_CODES.badInput);
        expect(r.termination).to.match(/^source unreadable: Invalid data found when processing input\n$/);
      }
      expect(await listKeys(`${id}/`)).to.deep.equal([]);
    });

    it('a source without a video stream → exit 2, "no video stream in source"', async () => {
      for (const args of [['rendition', '480p'], ['thumbnail']]) {
        const r = await transcode(args, { VIDEO_ID: `audio-${run8}`, SOURCE_KEY: src.audioOnly });
        expect(r.code, explain(r)).to.equal(EXIT_CODES.badInput);
        expect(r.termination).to.match(
          /^no video stream in source \(format mov,mp4,m4a,3gp,3g2,mj2, streams: aac\)\n$/,
        );
      }
      expect(await listKeys(`audio-${run8}/`)).to.deep.equal([]);
    });

    it('a crafted playlist source (HLS naming an internal URL, ffconcat naming /etc/passwd) → exit 2, nothing fetched', async () => {
      // an "internal service" with a real MPEG-TS segment: ffmpeg without the input whitelists fetches it
      // (an SSRF from inside the cluster); with them it never connects
      const segment = path.join(work, `internal-${run8}.ts`);
      await execFileP('ffmpeg', [
        '-v',
        'error',
        '-nostdin',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x240:rate=25',
        '-t',
        '1',
        '-c:v',
        'libx264',
        '-pix_fmt',
        'yuv420p',
        '-f',
        'mpegts',
        segment,
      ]);
      const requests: string[] = [];
      const server = http.createServer((req, res) => {
        requests.push(req.url ?? '');
        void fsp.readFile(segment).then((b) => res.writeHead(200, { 'content-type': 'video/MP2T' }).end(b));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const internal = `http://127.0.0.1:${(server.address() as { port: number }).port}/internal/seg.ts`;
      try {
        const crafted = {
          'crafted/hls.m3u8': `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1,\n${internal}\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n`,
          'crafted/list.ffconcat': `ffconcat version 1.0\nfile /etc/passwd\nfile ${internal}\n`,
        };
        for (const [key, body] of Object.entries(crafted)) await client.putObject(sourceBucket, key, body);
        for (const key of Object.keys(crafted)) {
          for (const args of [['rendition', '480p'], ['thumbnail']]) {
            const r = await transcode(args, { VIDEO_ID: `crafted-${run8}`, SOURCE_KEY: key });
            expect(r.code, explain(r)).to.equal(EXIT_CODES.badInput);
            expect(r.termination, key).to.match(/^source unreadable: .*not on whitelist/);
            expect(r.termination).not.to.include('root:');
          }
        }
        expect(requests, 'requests the crafted sources made to the internal service').to.deep.equal([]);
        expect(await listKeys(`crafted-${run8}/`)).to.deep.equal([]);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('an empty source object → exit 2', async () => {
      const r = await transcode(['rendition', '720p'], { VIDEO_ID: `empty-${run8}`, SOURCE_KEY: src.empty });
      expect(r.code, explain(r)).to.equal(EXIT_CODES.badInput);
      expect(r.termination).to.equal(`source unreadable: ${sourceBucket}/${src.empty} is empty\n`);
    });

    it('a missing source object → exit 2', async () => {
      const r = await transcode(['thumbnail'], { VIDEO_ID: `missing-${run8}`, SOURCE_KEY: 'no/such/object' });
      expect(r.code, explain(r)).to.equal(EXIT_CODES.badInput);
      expect(r.termination).to.equal(`source unreadable: ${sourceBucket}/no/such/object not found\n`);
    });

    it('wrong S3 credentials → exit 3 with a storage error, for both tasks', async () => {
      for (const args of [['rendition', '480p'], ['thumbnail']]) {
        const r = await transcode(args, {
          VIDEO_ID: `creds-${run8}`,
          SOURCE_KEY: src.hd,
          S3_SECRET_KEY: 'not-the-secret',
        });
        expect(r.code, explain(r)).to.equal(EXIT_CODES.storage);
        expect(r.termination).to.match(
          /^storage error: .*(AccessDenied|SignatureDoesNotMatch|InvalidAccessKeyId)/,
        );
        expect(r.termination).not.to.include('not-the-secret');
        expect(r.termination!.trimEnd().split('\n')).to.have.length(1);
      }
    });

    it('an unreachable S3 endpoint → exit 3', async () => {
      const port = await freePort();
      const r = await transcode(['thumbnail'], {
        VIDEO_ID: `down-${run8}`,
        SOURCE_KEY: src.hd,
        S3_ENDPOINT: `http://127.0.0.1:${port}`,
      });
      expect(r.code, explain(r)).to.equal(EXIT_CODES.storage);
      expect(r.termination).to.match(/^storage error: .*ECONNREFUSED/);
    });

    it('a media bucket that does not exist → exit 3', async () => {
      const r = await transcode(['thumbnail'], {
        VIDEO_ID: `nobucket-${run8}`,
        SOURCE_KEY: src.hd,
        MEDIA_BUCKET: `tx-none-${run8}`,
      });
      expect(r.code, explain(r)).to.equal(EXIT_CODES.storage);
      expect(r.termination).to.match(/^storage error: bucket tx-none-\w+ does not exist/);
    });

    it('a bad command line or environment → exit 64 with the reason', async () => {
      const a = await transcode(['rendition', '4k'], { VIDEO_ID: 'x', SOURCE_KEY: src.hd });
      expect(a.code, explain(a)).to.equal(EXIT_CODES.usage);
      expect(a.termination).to.match(/^unknown rendition "4k"/);
      const b = await transcode(['thumbnail'], {
        VIDEO_ID: 'x',
        SOURCE_KEY: src.hd,
        LADDER_JSON: '{"segmentSeconds":"six"}',
      });
      expect(b.code, explain(b)).to.equal(EXIT_CODES.usage);
      expect(b.termination).to.match(/^invalid ladder: LADDER_JSON: segmentSeconds/);
    });
  });
});
