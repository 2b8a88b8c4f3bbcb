/**
 * Sample media generated at run time with ffmpeg (nothing is committed): clips of a chosen
 * duration and size, with or without an audio track, plus files of random bytes that are not
 * media at all. Everything goes into a temporary directory that `cleanup()` removes.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface ClipOptions {
  /** Seconds (default 2). */
  durationSec?: number;
  /** Even pixel counts (default 320x240). */
  width?: number;
  height?: number;
  /** Frames per second (default 25). */
  fps?: number;
  /** Add a 440 Hz AAC tone (default true). */
  audio?: boolean;
  /** File name inside the media directory (default clip-<w>x<h>-<d>s[-noaudio]-<random>.mp4). */
  name?: string;
}

export interface ProbeStream {
  index: number;
  codec_type: 'video' | 'audio' | 'subtitle' | 'data' | string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  pix_fmt?: string;
  sample_rate?: string;
  channels?: number;
  duration?: string;
}

export interface ProbeResult {
  streams: ProbeStream[];
  format: { format_name: string; duration?: string; size?: string; bit_rate?: string; nb_streams: number };
}

/** Runs ffprobe on a file and returns its JSON (streams + format); rejects when ffprobe fails. */
export async function probe(file: string): Promise<ProbeResult> {
  const { stdout } = await execFileP(
    'ffprobe',
    ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout) as ProbeResult;
}

/** ffmpeg's leading arguments for a test pattern (testsrc2) and, with `audio`, a 440 Hz tone. */
export function testPatternInputs(o: {
  width: number;
  height: number;
  fps: number;
  durationSec: number;
  audio: boolean;
}): string[] {
  const d = o.durationSec;
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'];
  args.push('-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}:duration=${d}`);
  if (o.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${d}`);
  return args;
}

/** Writes an H.264 (+ AAC) MP4 test pattern with ffmpeg into `dir`; returns its path. */
export async function generateClip(dir: string, opts: ClipOptions = {}): Promise<string> {
  const d = opts.durationSec ?? 2;
  const w = opts.width ?? 320;
  const h = opts.height ?? 240;
  const fps = opts.fps ?? 25;
  const audio = opts.audio ?? true;
  if (w % 2 || h % 2) throw new Error(`clip size must be even for yuv420p, got ${w}x${h}`);
  const name =
    opts.name ??
    `clip-${w}x${h}-${d}s${audio ? '' : '-noaudio'}-${crypto.randomBytes(3).toString('hex')}.mp4`;
  const out = path.join(dir, name);
  const args = testPatternInputs({ width: w, height: h, fps, durationSec: d, audio });
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', String(fps * 2));
  if (audio) args.push('-c:a', 'aac', '-b:a', '96k', '-ac', '2');
  args.push('-t', String(d), '-movflags', '+faststart', out);
  await execFileP('ffmpeg', args, { maxBuffer: 16 * 1024 * 1024 });
  return out;
}

/** Writes `bytes` random bytes (not a media file) into `dir`; returns its path. */
export async function randomBytesFile(dir: string, bytes = 64 * 1024, name?: string): Promise<string> {
  const out = path.join(dir, name ?? `random-${bytes}-${crypto.randomBytes(3).toString('hex')}.bin`);
  await fsp.writeFile(out, crypto.randomBytes(bytes));
  return out;
}

export interface MediaDir {
  dir: string;
  clip(opts?: ClipOptions): Promise<string>;
  randomFile(bytes?: number, name?: string): Promise<string>;
  cleanup(): Promise<void>;
}

/** A temporary directory for generated media; call cleanup() in an after hook. */
export async function createMediaDir(prefix = 'videoflix-media-'): Promise<MediaDir> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  return {
    dir,
    clip: (opts) => generateClip(dir, opts),
    randomFile: (bytes, name) => randomBytesFile(dir, bytes, name),
    cleanup: () => fsp.rm(dir, { recursive: true, force: true }),
  };
}
