/** The media adapter: the interface the tasks use and the one implementation behind it. */
import { FluentMediaTool } from './fluent.js';
import type { MediaTool } from './types.js';

export * from './types.js';
export { geometryOf, pickAudioStream, pickVideoStream, scaleToFit } from './args.js';

export function createMediaTool(env: Record<string, string | undefined> = process.env): MediaTool {
  return new FluentMediaTool({ ffmpegPath: env.FFMPEG_PATH, ffprobePath: env.FFPROBE_PATH });
}
