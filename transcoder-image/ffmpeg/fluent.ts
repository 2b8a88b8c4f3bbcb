/**
 * MediaTool over fluent-ffmpeg. Only raw options are used (no codec/format helpers, which spawn
 * capability checks), so replacing this file with direct child_process calls is mechanical.
 */
import ffmpeg from 'fluent-ffmpeg';
import path from 'node:path';
import { percentOf } from '../../common/video/progress.js';
import {
  AUDIO_PIECE_PATTERN,
  audioPieceInputOptions,
  audioPiecesOutputOptions,
  chunkSourceInputOptions,
  classifyStderr,
  hlsOutputOptions,
  networkInputOptions,
  probeInputOptions,
  parseProgressLine,
  normalizeProbe,
  PLAYLIST_FILE,
  stderrSummary,
  thumbnailInputOptions,
  thumbnailOutputOptions,
} from './args.js';
import {
  MediaError,
  type AudioPiecesOptions,
  type EncodeHlsOptions,
  type MediaTool,
  type ProbeInfo,
  type ThumbnailOptions,
} from './types.js';

export interface FluentOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
}

export class FluentMediaTool implements MediaTool {
  constructor(private readonly opts: FluentOptions = {}) {}

  private command(input: string): ffmpeg.FfmpegCommand {
    const cmd = ffmpeg(input);
    if (this.opts.ffmpegPath) cmd.setFfmpegPath(this.opts.ffmpegPath);
    if (this.opts.ffprobePath) cmd.setFfprobePath(this.opts.ffprobePath);
    return cmd;
  }

  probe(input: string, signal?: AbortSignal): Promise<ProbeInfo> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new MediaError('aborted', 'ffprobe aborted'));
      // fluent-ffmpeg's ffprobe cannot be killed; on abort we stop waiting and let the caller exit.
      const onAbort = () => reject(new MediaError('aborted', 'ffprobe aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.command(input).ffprobe(['-v', 'error', ...probeInputOptions(input)], (err, data) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          // fluent-ffmpeg appends stderr to the message: "ffprobe exited with code 1\n<stderr>"
          const message = err instanceof Error ? err.message : String(err);
          const stderr = message.split('\n').slice(1).join('\n');
          const failure = /ENOENT|Cannot find ffprobe/.test(message) ? 'failed' : classifyStderr(stderr);
          reject(new MediaError(failure, stderrSummary(stderr) || message.split('\n')[0]!, stderr));
          return;
        }
        resolve(normalizeProbe(data as unknown as { streams?: unknown[]; format?: unknown }));
      });
    });
  }

  encodeHlsRendition(o: EncodeHlsOptions): Promise<void> {
    const cmd = this.command(o.input).inputOptions([
      '-nostdin',
      '-hide_banner',
      ...networkInputOptions(o.input),
      ...(o.chunk ? chunkSourceInputOptions(o.chunk) : []),
    ]);
    if (o.chunk?.audioPiece !== undefined)
      cmd.input(o.chunk.audioPiece).inputOptions(audioPieceInputOptions(o.chunk));
    cmd.outputOptions(hlsOutputOptions(o)).output(path.join(o.outputDir, PLAYLIST_FILE));
    if (o.onProgress && o.durationSeconds) {
      // Not fluent-ffmpeg's 'progress' event: a listener on it makes fluent-ffmpeg run one more
      // ffprobe of the input (over the network) to learn the duration the caller already knows.
      const report = o.onProgress;
      const duration = o.durationSeconds;
      cmd.on('stderr', (line: string) => {
        const p = parseProgressLine(line);
        if (p === undefined) return;
        const percent = percentOf(p.encodedSeconds, duration) ?? 0;
        report({
          percent,
          encodedSeconds: p.encodedSeconds,
          durationSeconds: duration,
          ...(p.speed !== undefined ? { speed: p.speed } : {}),
        });
      });
    }
    return run(cmd, 'ffmpeg (hls)', o.signal);
  }

  audioPieces(o: AudioPiecesOptions): Promise<void> {
    const cmd = this.command(o.input)
      .inputOptions(['-nostdin', '-hide_banner', ...networkInputOptions(o.input)])
      .outputOptions(audioPiecesOutputOptions(o))
      .output(path.join(o.outputDir, AUDIO_PIECE_PATTERN));
    return run(cmd, 'ffmpeg (audio pieces)', o.signal);
  }

  thumbnail(o: ThumbnailOptions): Promise<void> {
    const cmd = this.command(o.input)
      .inputOptions(['-nostdin', '-hide_banner', ...thumbnailInputOptions(o)])
      .outputOptions(thumbnailOutputOptions(o))
      .output(o.output);
    return run(cmd, 'ffmpeg (thumbnail)', o.signal);
  }
}

function run(cmd: ffmpeg.FfmpegCommand, what: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new MediaError('aborted', `${what} aborted`));
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      cmd.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    cmd
      .on('start', () => {
        // abort raised before fluent-ffmpeg had spawned the process
        if (aborted) cmd.kill('SIGKILL');
      })
      .on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      })
      .on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
        signal?.removeEventListener('abort', onAbort);
        if (aborted) return reject(new MediaError('aborted', `${what} aborted`));
        const text = stderr ?? '';
        const failure = /ENOENT|Cannot find ffmpeg/.test(err.message) ? 'failed' : classifyStderr(text);
        reject(new MediaError(failure, stderrSummary(text) || err.message, tail(text)));
      })
      .run();
  });
}

function tail(text: string, lines = 20): string {
  return text.split(/\r?\n/).slice(-lines).join('\n');
}
