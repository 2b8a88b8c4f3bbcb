/**
 * ffmpeg command lines with exactly the transcoder's settings, built by the transcoder's own code
 * (transcoder-image/ffmpeg/args.ts hlsOutputOptions, its ladder's rateControl and scaleToFit, its
 * encoder-thread rule), for plain ffmpeg runs the platform is compared with.
 */
import { spawn } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_LADDER, rung, type LadderSettings, type RenditionName } from '../../common/video/index.js';
import { encoderThreads } from '../../transcoder-image/cpu.js';
import { hlsOutputOptions, networkInputOptions, PLAYLIST_FILE } from '../../transcoder-image/ffmpeg/args.js';
import {
  createMediaTool,
  geometryOf,
  pickAudioStream,
  pickVideoStream,
  scaleToFit,
  type ProbeInfo,
} from '../../transcoder-image/ffmpeg/index.js';
import { rateControl } from '../../transcoder-image/ladder.js';

export async function probeSource(input: string): Promise<ProbeInfo> {
  return createMediaTool().probe(input);
}

/** The output options of one rendition into `outRoot/<name>/` (created), as the transcoder passes them. */
export async function renditionOutput(
  info: ProbeInfo,
  input: string,
  outRoot: string,
  name: RenditionName,
  ladder: LadderSettings = DEFAULT_LADDER,
): Promise<string[]> {
  const video = pickVideoStream(info);
  if (!video) throw new Error(`no video stream in ${input}`);
  const audio = pickAudioStream(info);
  const target = rung(name, ladder);
  const size = scaleToFit(geometryOf(video), target);
  const outputDir = path.join(outRoot, name);
  await fsp.mkdir(outputDir, { recursive: true });
  const threads = await encoderThreads(undefined);
  const opts = hlsOutputOptions({
    input,
    outputDir,
    videoStreamIndex: video.index,
    audioStreamIndex: audio?.index,
    width: size.width,
    height: size.height,
    frameRate: video.frameRate ?? 30,
    ...rateControl(target, ladder),
    preset: ladder.preset,
    profile: ladder.profile,
    segmentSeconds: ladder.segmentSeconds,
    gopSeconds: ladder.gopSeconds,
    threads,
  });
  return [...opts, path.join(outputDir, PLAYLIST_FILE)];
}

export function inputArgs(input: string): string[] {
  return ['-nostdin', '-hide_banner', '-loglevel', 'error', ...networkInputOptions(input), '-i', input];
}

/** Runs ffmpeg; resolves with its wall time in ms. */
export function ffmpeg(args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn('ffmpeg', ['-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0
        ? resolve(performance.now() - t0)
        : reject(new Error(`ffmpeg exited ${code}: ${err.slice(-1000)}`)),
    );
  });
}
