/**
 * Chunked transcoding (issue 24): one rendition of a generated 1080p source encoded by one ffmpeg
 * process (the baseline, measured in the same run) and as chunks of L seconds (the default
 * CHUNK_SECONDS unless set), with exactly the transcoder's arguments (its builders in
 * transcoder-image/ffmpeg/args.ts) and the stitch's own code (TS scan, continuity renumbering,
 * checkChunks, stitchPlaylist). No S3, no Kubernetes: the media cost only.
 *
 * Figures: PSNR/SSIM of each output against the source scaled to the rendition (frames matched by
 * timestamp, as in notes/segment-parallel.md) and ΔPSNR (goal ≥ −0.15 dB); CPU-s (user+sys of the
 * ffmpeg processes) of the chunked encode (audio once + every chunk) against the baseline (goal
 * overhead ≤ 15 %); per-chunk wall/CPU; the fixed cost of one chunk process (an ffmpeg chunk run on a
 * one-frame slice: start, seek, encoder set-up, muxer); stitch time. Chunks run one at a time (each
 * alone on the machine, as each would be on its own node).
 *
 *   node --import=tsx bench/chunking.ts
 *   BENCH_CHUNK_SOURCE_SECONDS (300), BENCH_CHUNK_SECONDS (CHUNK_SECONDS default, 30),
 *   BENCH_CHUNK_RENDITION (720p), BENCH_CHUNK_SOURCE_GOP (90 frames: a 3 s keyframe interval)
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  checkChunks,
  chunkLength,
  DEFAULT_CHUNKING,
  DEFAULT_LADDER,
  planChunks,
  rung,
  stitchPlaylist,
  type ChunkMetadata,
  type RenditionName,
  type StitchReport,
  ticksGap,
} from '../common/video/index.js';
import { encoderThreads } from '../transcoder-image/cpu.js';
import {
  AUDIO_PIECE_PATTERN,
  audioPieceInputOptions,
  audioPiecesOutputOptions,
  chunkSourceInputOptions,
  hlsOutputOptions,
  PLAYLIST_FILE,
} from '../transcoder-image/ffmpeg/args.js';
import {
  createMediaTool,
  geometryOf,
  pickAudioStream,
  pickVideoStream,
  scaleToFit,
  type EncodeHlsOptions,
} from '../transcoder-image/ffmpeg/index.js';
import { rateControl } from '../transcoder-image/ladder.js';
import { measureSegment, parseMediaPlaylist } from '../transcoder-image/metadata.js';
import { chunkMetadata, scanTsFile } from '../transcoder-image/tasks/chunk.js';
import {
  ContinuityRewriter,
  continuityOffsets,
  segmentContinuityTargets,
} from '../transcoder-image/ts-packets.js';
import { report, say } from './support/lib.js';

const BENCH = 'chunking';
const SOURCE_SECONDS = Number(process.env.BENCH_CHUNK_SOURCE_SECONDS ?? 300);
const CHUNK_SECONDS = Number(process.env.BENCH_CHUNK_SECONDS ?? DEFAULT_CHUNKING.chunkSeconds);
const RENDITION = (process.env.BENCH_CHUNK_RENDITION ?? '720p') as RenditionName;
const SOURCE_GOP = Number(process.env.BENCH_CHUNK_SOURCE_GOP ?? 90);

interface Run {
  wall: number;
  cpu: number;
  stderr: string;
}

/** ffmpeg under sh, whose `times` gives the children's user+sys CPU (POSIX, no /usr/bin/time needed). */
function ffmpeg(args: string[]): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn('sh', ['-c', 'ffmpeg "$@"; s=$?; times >&2; exit $s', 'sh', '-nostdin', '-y', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      const lines = err.trim().split('\n');
      const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines.at(-1) ?? '');
      if (code !== 0 || !m) return reject(new Error(`ffmpeg exited ${code}: ${err.slice(-1500)}`));
      const cpu = Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
      resolve({ wall: (performance.now() - t0) / 1000, cpu, stderr: lines.slice(0, -2).join('\n') });
    });
  });
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** PSNR (average, Y) and SSIM (All) of a rendition against the source scaled to its size, frames matched by timestamp. */
async function quality(playlist: string, source: string, w: number, h: number) {
  const graph =
    `[0:v]settb=AVTB,setpts=PTS-STARTPTS,split[d1][d2];` +
    `[1:v]scale=${w}:${h}:flags=bicubic,settb=AVTB,setpts=PTS-STARTPTS,split[r1][r2];` +
    `[d1][r1]psnr;[d2][r2]ssim`;
  const r = await ffmpeg([
    '-hide_banner',
    '-loglevel',
    'info',
    '-i',
    playlist,
    '-i',
    source,
    '-lavfi',
    graph,
    '-f',
    'null',
    '-',
  ]);
  const psnr = /PSNR y:([\d.]+).*average:([\d.]+)/.exec(r.stderr);
  const ssim = /SSIM .*All:([\d.]+)/.exec(r.stderr);
  if (!psnr || !ssim) throw new Error(`no PSNR/SSIM in ffmpeg's output: ${r.stderr.slice(-800)}`);
  return { psnr: Number(psnr[2]), psnrY: Number(psnr[1]), ssim: Number(ssim[1]) };
}

async function bytesOf(dir: string): Promise<number> {
  let n = 0;
  for (const f of await fsp.readdir(dir))
    if (f.endsWith('.ts')) n += (await fsp.stat(path.join(dir, f))).size;
  return n;
}

async function main() {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-chunking-'));
  try {
    const source = path.join(dir, 'source.mp4');
    say(
      `[${BENCH}] generating a ${SOURCE_SECONDS} s 1080p30 source (moving pattern + noise, AAC), GOP ${SOURCE_GOP} frames`,
    );
    await ffmpeg([
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=1920x1080:rate=30:duration=${SOURCE_SECONDS},noise=c0s=6:c0f=t`,
      '-f',
      'lavfi',
      '-i',
      `aevalsrc='0.4*sin(2*PI*(300*t+2*t*t))|0.4*sin(2*PI*(500*t+8*sin(2*PI*0.5*t)))':s=48000:d=${SOURCE_SECONDS}`,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-crf',
      '20',
      '-g',
      String(SOURCE_GOP),
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-b:a',
      '256k',
      '-movflags',
      '+faststart',
      source,
    ]);
    const info = await createMediaTool().probe(source);
    const video = pickVideoStream(info)!;
    const audio = pickAudioStream(info)!;
    const ladder = DEFAULT_LADDER;
    const target = rung(RENDITION, ladder);
    const size = scaleToFit(geometryOf(video), target);
    const threads = await encoderThreads(undefined);
    const seg = ladder.segmentSeconds;
    const plan = planChunks(
      info.duration ?? SOURCE_SECONDS,
      { thresholdSeconds: 1, chunkSeconds: CHUNK_SECONDS },
      seg,
    );
    if (!plan) throw new Error('the source is too short for two chunks');
    const L = chunkLength(CHUNK_SECONDS, seg);
    const options = (outputDir: string, chunk?: EncodeHlsOptions['chunk']): EncodeHlsOptions => ({
      input: source,
      outputDir,
      videoStreamIndex: video.index,
      audioStreamIndex: audio.index,
      ...size,
      frameRate: video.frameRate ?? 30,
      ...rateControl(target, ladder),
      preset: ladder.preset,
      profile: ladder.profile,
      segmentSeconds: seg,
      gopSeconds: ladder.gopSeconds,
      threads,
      ...(chunk ? { chunk } : {}),
    });
    const base = ['-hide_banner', '-loglevel', 'error'];

    // baseline: one process
    const singleDir = path.join(dir, 'single');
    await fsp.mkdir(singleDir);
    say(`[${BENCH}] one process: ${RENDITION} ${size.width}x${size.height}`);
    const single = await ffmpeg([
      ...base,
      '-i',
      source,
      ...hlsOutputOptions(options(singleDir)),
      path.join(singleDir, PLAYLIST_FILE),
    ]);

    // chunked: the audio once, then every chunk alone
    const audioDir = path.join(dir, 'audio');
    await fsp.mkdir(audioDir);
    say(`[${BENCH}] chunked: ${plan.count} chunks of ${L} s`);
    const audioRun = await ffmpeg([
      ...base,
      '-i',
      source,
      ...audioPiecesOutputOptions({
        input: source,
        outputDir: audioDir,
        audioStreamIndex: audio.index,
        audioKbps: target.audioKbps,
        chunkSeconds: L,
        count: plan.count,
      }),
      path.join(audioDir, AUDIO_PIECE_PATTERN),
    ]);
    const chunkDir = path.join(dir, 'chunks');
    const chunkArgs = (k: number, outDir: string, slice?: number) => {
      const c = {
        startSeconds: k * L,
        ...(slice !== undefined
          ? { durationSeconds: slice }
          : k < plan.count - 1
            ? { durationSeconds: L }
            : {}),
        startNumber: Math.round((k * L) / seg),
        audioPiece: path.join(audioDir, `audio_${k}.nut`),
        sourceStartTime: info.startTime ?? 0,
      };
      return [
        ...base,
        ...chunkSourceInputOptions(c),
        '-i',
        source,
        ...audioPieceInputOptions(c),
        '-i',
        c.audioPiece,
        ...hlsOutputOptions(options(outDir, c)),
        path.join(outDir, PLAYLIST_FILE),
      ];
    };
    const chunkRuns: Run[] = [];
    const chunks: ChunkMetadata[] = [];
    const media = createMediaTool();
    for (let k = 0; k < plan.count; k++) {
      const out = path.join(chunkDir, String(k));
      await fsp.mkdir(out, { recursive: true });
      const r = await ffmpeg(chunkArgs(k, out));
      chunkRuns.push(r);
      say(`  chunk ${k}: ${r.wall.toFixed(1)} s wall, ${r.cpu.toFixed(1)} CPU-s`);
      const playlist = parseMediaPlaylist(await fsp.readFile(path.join(out, PLAYLIST_FILE), 'utf8'));
      const measures = new Map(
        await Promise.all(
          playlist.segments.map(async (s) => {
            const file = path.join(out, s.uri);
            return [s.uri, { probe: await measureSegment(file, media), ts: await scanTsFile(file) }] as const;
          }),
        ),
      );
      chunks.push(
        chunkMetadata(playlist, measures, {
          name: RENDITION,
          index: k,
          count: plan.count,
          startSeconds: k * L,
          segmentSeconds: seg,
          hasAudio: true,
        }),
      );
    }

    // the fixed cost of a chunk process: a one-frame slice at three places (start, seek, encoder and muxer set-up)
    const fixed: Run[] = [];
    for (const k of [1, Math.floor(plan.count / 2), plan.count - 1]) {
      const out = path.join(dir, `fixed-${k}-${fixed.length}`);
      await fsp.mkdir(out);
      fixed.push(await ffmpeg(chunkArgs(k, out, 1 / (video.frameRate ?? 30))));
    }

    // the stitch: continuity counters of chunks ≥ 1 renumbered (streamed file to file), joins measured, checks, playlist
    const stitchDir = path.join(dir, 'stitched');
    await fsp.mkdir(stitchDir);
    const t0 = performance.now();
    const edges = new Map<string, Awaited<ReturnType<typeof scanTsFile>>>();
    for (const c of chunks) {
      const offsets = continuityOffsets(chunks, c.index);
      for (const [i, s] of c.segments.entries()) {
        const from = path.join(chunkDir, String(c.index), s.name);
        await pipeline(
          createReadStream(from),
          new ContinuityRewriter(segmentContinuityTargets(s.ccFirst ?? {}, offsets)),
          createWriteStream(path.join(stitchDir, s.name)),
        );
        if (i === 0 || i === c.segments.length - 1) edges.set(`${c.index}:${i}`, await scanTsFile(from));
      }
    }
    const joins: StitchReport['joins'] = [];
    for (let k = 1; k < chunks.length; k++) {
      const before = edges.get(`${k - 1}:${chunks[k - 1]!.segments.length - 1}`)!;
      const after = edges.get(`${k}:0`)!;
      joins.push({
        index: k,
        videoGapTicks: ticksGap(after.firstVideoPts!, before.lastVideoPts!, chunks[0]!.videoPtsStep),
        audioGapTicks: ticksGap(after.firstAudioPts!, before.lastAudioPts!, chunks[0]!.audioPtsStep!),
      });
    }
    const check = checkChunks(chunks, {
      rendition: RENDITION,
      count: chunks.length,
      segmentsRewritten: 0,
      joins,
    });
    const playlistText = stitchPlaylist(chunks);
    await fsp.writeFile(path.join(stitchDir, PLAYLIST_FILE), playlistText);
    const stitchSeconds = (performance.now() - t0) / 1000;
    const identical = playlistText === (await fsp.readFile(path.join(singleDir, PLAYLIST_FILE), 'utf8'));

    say(`[${BENCH}] quality (PSNR/SSIM against the source, ${size.width}x${size.height})`);
    const qSingle = await quality(path.join(singleDir, PLAYLIST_FILE), source, size.width, size.height);
    const qChunked = await quality(path.join(stitchDir, PLAYLIST_FILE), source, size.width, size.height);
    const [bSingle, bChunked] = [await bytesOf(singleDir), await bytesOf(stitchDir)];

    const chunkedCpu = audioRun.cpu + sum(chunkRuns.map((r) => r.cpu));
    const label = `${SOURCE_SECONDS} s 1080p → ${RENDITION}, ${plan.count} × ${L} s`;
    report({
      bench: BENCH,
      metric: `ΔPSNR chunked − one process (${label})`,
      value: qChunked.psnr - qSingle.psnr,
      unit: 'dB',
      baseline: { label: 'one process PSNR avg', value: qSingle.psnr, unit: 'dB' },
      goal: '≥ −0.15 dB',
      note: `chunked ${qChunked.psnr.toFixed(3)} dB (Y ${qChunked.psnrY.toFixed(3)} vs ${qSingle.psnrY.toFixed(3)}); SSIM ${qChunked.ssim.toFixed(6)} vs ${qSingle.ssim.toFixed(6)}; bytes ${bChunked} vs ${bSingle} (${((bChunked / bSingle - 1) * 100).toFixed(1)} %)`,
    });
    report({
      bench: BENCH,
      metric: `CPU of the chunked encode, audio once + chunks (${label})`,
      value: chunkedCpu,
      unit: 'CPU-s',
      baseline: { label: 'one process', value: single.cpu, unit: 'CPU-s' },
      ratio: chunkedCpu / single.cpu,
      goal: 'overhead ≤ 15 %',
      note: `overhead ${((chunkedCpu / single.cpu - 1) * 100).toFixed(1)} %; audio ${audioRun.cpu.toFixed(2)} CPU-s / ${audioRun.wall.toFixed(2)} s; wall one process ${single.wall.toFixed(1)} s, chunks in sequence ${sum(chunkRuns.map((r) => r.wall)).toFixed(1)} s`,
    });
    report({
      bench: BENCH,
      metric: 'per-chunk encode (full chunks)',
      value: median(chunkRuns.slice(0, -1).map((r) => r.wall)),
      unit: 's wall (median)',
      note: `wall ${chunkRuns.map((r) => r.wall.toFixed(1)).join(' / ')} s; CPU ${chunkRuns.map((r) => r.cpu.toFixed(1)).join(' / ')} s (the last chunk is ${(SOURCE_SECONDS - (plan.count - 1) * L).toFixed(0)} s)`,
    });
    report({
      bench: BENCH,
      metric: 'fixed cost per chunk process (one-frame slice)',
      value: median(fixed.map((r) => r.cpu)),
      unit: 'CPU-s (median)',
      note: `wall ${fixed.map((r) => r.wall.toFixed(2)).join(' / ')} s, CPU ${fixed.map((r) => r.cpu.toFixed(2)).join(' / ')} s; ffmpeg only (the transcoder's Node start is ≈ 0.2 s more, transcoder-image/README.md)`,
    });
    report({
      bench: BENCH,
      metric: 'stitch (CC renumbering of every segment, joins measured, checks, playlist)',
      value: stitchSeconds,
      unit: 's',
      note: `${chunks.reduce((n, c) => n + c.segments.length, 0)} segments, local files; checks ${check ?? 'passed'}; joins ${JSON.stringify(joins.map((j) => [j.videoGapTicks, j.audioGapTicks]))}; playlist ${identical ? 'identical to' : 'DIFFERENT from'} one process`,
    });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

await main();
