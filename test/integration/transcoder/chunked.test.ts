/**
 * Chunked transcoding (issue 24), the media side, as the Jobs run it: the transcoder bundle as a child
 * process with real ffmpeg against the host tier's S3 server. A 60 s 720p clip with audio, threshold
 * 20 s, L = 12 s (5 chunks of the 480p rendition): thumbnail (probe + audio pieces) → chunk k for every
 * k → stitch, compared with the single-process `rendition` task on the same source and settings,
 * independently of the program's own measurements (ffprobe/ffmpeg on the downloaded bytes).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from 'minio';
import {
  checkChunks,
  chunkKeys,
  EXIT_CODES,
  keys,
  renditionMetadataFromChunks,
  stitchPlaylist,
  type ChunkMetadata,
  type RenditionMetadata,
  type StitchReport,
} from '../../../common/video/index.js';
import type { MediaDir } from '../../support/media.js';
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
const RES = '480p';
const COUNT = 5;
const CHUNK_ENV = { CHUNK_THRESHOLD_SECONDS: '20', CHUNK_SECONDS: '12' };

/** ffmpeg's stderr lines for a decode of `input` to nothing, at `level`. */
async function decodeLog(input: string, level: string, extra: string[] = []): Promise<string[]> {
  const r = await execFileP('ffmpeg', ['-nostdin', '-v', level, ...extra, '-i', input, '-f', 'null', '-'], {
    maxBuffer: 64 << 20,
  });
  return r.stderr.split('\n').filter((l) => l.trim() !== '');
}

/** First video PTS (90 kHz) of a transport stream file, read by ffprobe. */
async function firstVideoPts(file: string): Promise<number> {
  const { stdout } = await execFileP(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'json', file],
    { maxBuffer: 64 << 20 },
  );
  const packets = (JSON.parse(stdout) as { packets: { pts: number }[] }).packets;
  expect(packets.length, file).to.be.above(0);
  return Math.min(...packets.map((p) => p.pts));
}

async function countFrames(input: string, stream: string): Promise<number> {
  const { stdout } = await execFileP('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-select_streams',
    stream,
    '-show_entries',
    'stream=nb_read_frames',
    '-of',
    'csv=p=0',
    input,
  ]);
  return Number(stdout.trim().split('\n')[0]);
}

describe('chunked transcoding: thumbnail → chunks → stitch (real ffmpeg, real S3)', function () {
  this.timeout(600_000);
  this.slow(60_000);

  const run8 = crypto.randomBytes(4).toString('hex');
  const sourceBucket = `ch-src-${run8}`;
  const mediaBucket = `ch-media-${run8}`;
  const ref = `ref-${run8}`;
  const id = `chunked-${run8}`;
  let client: Client;
  let media: MediaDir;
  let work: string;
  let bundle: string;
  let sourceFile: string;
  const runs: Record<string, RunResult> = {};
  const chunks: ChunkMetadata[] = [];
  let refPlaylist: string;
  let refMeta: RenditionMetadata;
  let preStitchDir: string;
  let refDir: string;

  const transcode = (args: string[], env: Record<string, string>): Promise<RunResult> =>
    runTranscoder({ bundle, work, sourceBucket, mediaBucket }, args, {
      SOURCE_KEY: 'clip/source.mp4',
      ...env,
    });
  const listKeys = (prefix: string) => listKeysIn(client, mediaBucket, prefix);

  async function download(key: string, dir = path.join(work, 'dl')): Promise<string> {
    const file = path.join(dir, key);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await client.fGetObject(mediaBucket, key, file);
    return file;
  }

  async function readJson<T>(key: string): Promise<T> {
    return JSON.parse(
      await fsp.readFile(await download(key, path.join(work, `json-${Date.now()}`)), 'utf8'),
    ) as T;
  }

  /** Every segment of the chunked rendition, downloaded into `dir`, with index.m3u8 from stitchPlaylist. */
  async function downloadRendition(dir: string): Promise<string[]> {
    const files: string[] = [];
    for (const c of chunks)
      for (const s of c.segments) files.push(await download(keys.segment(id, RES, s.name), dir));
    const playlist = path.join(dir, id, RES, 'index.m3u8');
    await fsp.writeFile(playlist, stitchPlaylist(chunks));
    return files;
  }

  before(async function () {
    client = s3();
    ({ media, work, bundle } = await setUpRun(client, sourceBucket, mediaBucket, 'chunk-it-'));
    sourceFile = await media.clip({ width: 1280, height: 720, durationSec: 60, fps: 30, audio: true });
    await client.fPutObject(sourceBucket, 'clip/source.mp4', sourceFile, {});
    await client.fPutObject(sourceBucket, 'random/source', await media.randomFile(256 * 1024), {});

    // the reference: one process, today's path (no chunking variables)
    runs.single = await transcode(['rendition', RES], { VIDEO_ID: ref });
    expect(runs.single.code, explain(runs.single)).to.equal(0);
    refPlaylist = await fsp.readFile(await download(keys.playlist(ref, RES)), 'utf8');
    refMeta = await readJson<RenditionMetadata>(keys.renditionMeta(ref, RES));
    refDir = path.join(work, 'ref');
    for (const line of refPlaylist.split('\n').filter((l) => l.endsWith('.ts')))
      await download(keys.segment(ref, RES, line), refDir);
    await fsp.writeFile(path.join(refDir, ref, RES, 'index.m3u8'), refPlaylist);

    runs.thumbnail = await transcode(['thumbnail'], { VIDEO_ID: id, ...CHUNK_ENV });
    expect(runs.thumbnail.code, explain(runs.thumbnail)).to.equal(0);
    runs.speculative = await transcode(['rendition', RES], { VIDEO_ID: id, ...CHUNK_ENV });
    for (let k = 0; k < COUNT; k++) {
      const r = await transcode(['chunk', RES], {
        VIDEO_ID: id,
        ...CHUNK_ENV,
        CHUNK_COUNT: String(COUNT),
        JOB_COMPLETION_INDEX: String(k),
      });
      expect(r.code, explain(r)).to.equal(0);
      runs[`chunk${k}`] = r;
    }
    for (let k = 0; k < COUNT; k++)
      chunks.push(await readJson<ChunkMetadata>(chunkKeys.chunkMeta(id, RES, k)));
    preStitchDir = path.join(work, 'pre-stitch');
    await downloadRendition(preStitchDir);
    runs.stitch = await transcode(['stitch', RES], {
      VIDEO_ID: id,
      ...CHUNK_ENV,
      CHUNK_COUNT: String(COUNT),
    });
    expect(runs.stitch.code, explain(runs.stitch)).to.equal(0);
    console.log(
      `      single ${runs.single.seconds.toFixed(1)} s; thumbnail+audio ${runs.thumbnail.seconds.toFixed(1)} s; chunks ${[
        ...Array(COUNT).keys(),
      ]
        .map((k) => runs[`chunk${k}`]!.seconds.toFixed(1))
        .join(' / ')} s; stitch ${runs.stitch.seconds.toFixed(1)} s`,
    );
  });

  after(async () => {
    await removeBuckets(client, [sourceBucket, mediaBucket], 'chunked test');
    await media?.cleanup();
  });

  it('the probe Job writes one audio piece per chunk besides probe.json and the thumbnail', async () => {
    expect(await listKeys(`${id}/`)).to.include.members([
      ...[...Array(COUNT).keys()].map((k) => chunkKeys.audioPiece(id, k)),
      keys.probe(id),
      keys.thumbnail(id),
    ]);
  });

  it('the speculative rendition task defers: exit 0, {"deferred":"chunked"}, nothing written by it', () => {
    expect(runs.speculative!.code, explain(runs.speculative!)).to.equal(0);
    expect(JSON.parse(runs.speculative!.termination ?? 'null')).to.deep.equal({ deferred: 'chunked' });
    expect(runs.speculative!.stdout).to.match(/deferred/);
  });

  it('each chunk leaves its metadata as the termination message and writes no playlist', async () => {
    for (let k = 0; k < COUNT; k++)
      expect(JSON.parse(runs[`chunk${k}`]!.termination!)).to.deep.equal(chunks[k]);
    const written = await listKeys(`${id}/${RES}/`);
    expect(written).to.not.include(keys.playlist(id, RES));
    expect(written).to.not.include(keys.renditionMeta(id, RES));
  });

  it('the stitched playlist is byte-identical to the single process index.m3u8 (no DISCONTINUITY)', () => {
    expect(checkChunks(chunks)).to.equal(undefined);
    expect(stitchPlaylist(chunks)).to.equal(refPlaylist);
    expect(refPlaylist).to.not.include('DISCONTINUITY');
    expect(refPlaylist.match(/#EXTINF/g)).to.have.length(10);
  });

  it('rendition.json from the chunks matches the single process on everything but the bit rates', () => {
    const fromChunks = renditionMetadataFromChunks(chunks);
    const { bandwidth, averageBandwidth, ...rest } = fromChunks;
    const { bandwidth: rb, averageBandwidth: ra, ...refRest } = refMeta;
    expect(rest).to.deep.equal(refRest);
    // chunks' rate control restarts at each join: within 10 % of one process
    expect(Math.abs(averageBandwidth / ra - 1)).to.be.below(0.1);
    expect(Math.abs(bandwidth / rb - 1)).to.be.below(0.15);
  });

  it('the stitch report measured every join on the bytes: 0 ticks of video and audio gap', async () => {
    const report = await readJson<StitchReport>(chunkKeys.stitchReport(id, RES));
    expect(report.joins.map((j) => [j.index, j.videoGapTicks, j.audioGapTicks])).to.deep.equal(
      [1, 2, 3, 4].map((k) => [k, 0, 0]),
    );
    expect(report.segmentsRewritten).to.equal(8);
    expect(checkChunks(chunks, report)).to.equal(undefined);
  });

  it('every segment starts at the same video PTS as in the single process (ffprobe)', async () => {
    for (const c of chunks)
      for (const s of c.segments) {
        const mine = await firstVideoPts(
          await download(keys.segment(id, RES, s.name), path.join(work, 'pts')),
        );
        const theirs = await firstVideoPts(path.join(refDir, ref, RES, s.name));
        expect(mine, s.name).to.equal(theirs);
        expect(mine, `${s.name} (chunk metadata)`).to.equal(s.firstVideoPts);
      }
  });

  it('the stitched rendition decodes without one error, as long as the source, with the same audio packets', async () => {
    const dir = path.join(work, 'stitched');
    await downloadRendition(dir);
    const playlist = path.join(dir, id, RES, 'index.m3u8');
    expect(await decodeLog(playlist, 'error')).to.deep.equal([]);
    expect(await countFrames(playlist, 'v:0')).to.equal(await countFrames(sourceFile, 'v:0'));
    const audioHashes = async (input: string) =>
      (
        await execFileP(
          'ffmpeg',
          ['-v', 'error', '-i', input, '-map', '0:a', '-c', 'copy', '-f', 'framemd5', '-'],
          {
            maxBuffer: 64 << 20,
          },
        )
      ).stdout
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        // stream, dts, pts, duration, size, hash; not the side data the HLS demuxer adds where a segment opens
        .map((l) => l.split(',').slice(0, 6).join(','));
    const refAudio = await audioHashes(path.join(refDir, ref, RES, 'index.m3u8'));
    expect(refAudio.length).to.be.above(2500);
    expect(await audioHashes(playlist)).to.deep.equal(refAudio);
  });

  it('the byte-concatenated segments decode with no "Packet corrupt" after the stitch, and did before it', async () => {
    const cat = async (dir: string) => {
      const files = chunks.flatMap((c) => c.segments.map((s) => path.join(dir, id, RES, s.name)));
      const out = path.join(dir, 'all.ts');
      await fsp.writeFile(out, Buffer.concat(await Promise.all(files.map((f) => fsp.readFile(f)))));
      return (await decodeLog(out, 'warning')).filter((l) => /corrupt/i.test(l));
    };
    const before = await cat(preStitchDir);
    expect(before.length, 'continuity errors before the stitch (the check can fail)').to.be.at.least(
      COUNT - 1,
    );
    expect(await cat(path.join(work, 'stitched'))).to.deep.equal([]);
  });

  it('a second stitch (a retried Job) changes no byte', async () => {
    const key = keys.segment(id, RES, chunks[3]!.segments[1]!.name);
    const hash = async () =>
      crypto
        .createHash('sha256')
        .update(await fsp.readFile(await download(key, path.join(work, `again-${Date.now()}`))))
        .digest('hex');
    const before = await hash();
    const again = await transcode(['stitch', RES], {
      VIDEO_ID: id,
      ...CHUNK_ENV,
      CHUNK_COUNT: String(COUNT),
    });
    expect(again.code, explain(again)).to.equal(0);
    expect(await hash()).to.equal(before);
  });

  it('a stitch whose chunks do not join fails with the bad-input exit code and the reason', async () => {
    const put = (vid: string, k: number, meta: ChunkMetadata) => {
      const body = Buffer.from(JSON.stringify(meta));
      return client.putObject(mediaBucket, chunkKeys.chunkMeta(vid, RES, k), body, body.length);
    };
    const missing = `missing-${run8}`;
    for (const c of chunks) if (c.index !== 3) await put(missing, c.index, c);
    const r1 = await transcode(['stitch', RES], { VIDEO_ID: missing, CHUNK_COUNT: String(COUNT) });
    expect(r1.code, explain(r1)).to.equal(EXIT_CODES.badInput);
    expect(r1.termination).to.match(/chunk 3 is missing/);
    const gap = `gap-${run8}`;
    for (const c of chunks) {
      const s0 = c.segments[0]!;
      const shifted =
        c.index === 2
          ? {
              ...c,
              segments: [
                { ...s0, firstAudioPts: s0.firstAudioPts! + 1920, audioPackets: s0.audioPackets! - 1 },
                ...c.segments.slice(1),
              ],
            }
          : c;
      await put(gap, c.index, shifted);
    }
    const r2 = await transcode(['stitch', RES], { VIDEO_ID: gap, CHUNK_COUNT: String(COUNT) });
    expect(r2.code, explain(r2)).to.equal(EXIT_CODES.badInput);
    expect(r2.termination).to.match(/audio PTS gap of 1920 ticks at the join 1→2/);
  });

  it('a chunk of a corrupt source fails fast with the bad-input exit code', async () => {
    const r = await transcode(['chunk', RES], {
      VIDEO_ID: `bad-${run8}`,
      SOURCE_KEY: 'random/source',
      ...CHUNK_ENV,
      CHUNK_COUNT: String(COUNT),
      JOB_COMPLETION_INDEX: '1',
    });
    expect(r.code, explain(r)).to.equal(EXIT_CODES.badInput);
    expect(r.termination).to.match(/source unreadable/);
    expect(r.seconds).to.be.below(30);
  });
});
