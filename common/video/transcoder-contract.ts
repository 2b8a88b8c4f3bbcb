/**
 * The contract between the operator's Job builder and the transcoder program: command line,
 * environment variables and exit codes. Both sides import it; neither hard-codes these values.
 *
 * Container command: TRANSCODER_COMMAND (`node /app/dist/transcoder-image/main.js`, the image's
 * ENTRYPOINT too) with the arguments `transcoderArgs(task)`:
 *   `thumbnail`            probe the source → <id>/probe.json, and write <id>/thumbnail.jpg
 *   `rendition <name>`     encode one rendition → <id>/<name>/index.m3u8, segment_NNN.ts, rendition.json
 *                          (with SKIP_TALLER_THAN_SOURCE=1 and a rung taller than the source: nothing, exit 0;
 *                          with CHUNK_THRESHOLD_SECONDS and a longer source: nothing, `{"deferred":"chunked"}`, exit 0)
 *   `chunk <name>`         chunk JOB_COMPLETION_INDEX of CHUNK_COUNT (CHUNK_SECONDS each) of one rendition →
 *                          its segment_NNN.ts and <id>/<name>/chunks/chunk_<k>.json (common/video/chunks.ts)
 *   `stitch <name>`        renumbers the TS continuity counters of chunks ≥ 1, checks every join →
 *                          <id>/<name>/chunks/stitch.json (the operator then writes index.m3u8 and rendition.json)
 * `<id>` (the media prefix) is the Video's metadata.uid.
 */
import type { RenditionName } from './constants.js';

export const TRANSCODER_ENV = {
  mediaId: 'VIDEO_ID',
  sourceBucket: 'SOURCE_BUCKET',
  sourceKey: 'SOURCE_KEY',
  mediaBucket: 'MEDIA_BUCKET',
  thumbnailTime: 'THUMBNAIL_TIME',
  segmentSeconds: 'SEGMENT_SECONDS',
  terminationMessagePath: 'TERMINATION_MESSAGE_PATH',
  ladderJson: 'LADDER_JSON',
  /**
   * `1` on rendition Jobs started before the source was probed, for a rung that is not the lowest
   * requested one: the transcoder then writes nothing and exits 0 when its rung is taller than the
   * source (displayed height), the same rule the operator applies to select rungs (common/video/ladder.ts).
   */
  skipTallerThanSource: 'SKIP_TALLER_THAN_SOURCE',
  /**
   * Progress reports (common/video/progress.ts), best effort: the broker URL of a user that may only
   * publish to the progress exchange (unset: no reports), the exchange, and the pace (a report at most
   * every PROGRESS_INTERVAL seconds, or sooner after PROGRESS_STEP_PERCENT more percent).
   */
  progressAmqpUrl: 'PROGRESS_AMQP_URL',
  progressExchange: 'PROGRESS_EXCHANGE',
  progressInterval: 'PROGRESS_INTERVAL',
  progressStepPercent: 'PROGRESS_STEP_PERCENT',
  /**
   * Chunked transcoding (common/video/chunks.ts): sources longer than CHUNK_THRESHOLD_SECONDS are
   * encoded in chunks of CHUNK_SECONDS (thumbnail: also encodes the audio pieces; rendition: defers);
   * CHUNK_COUNT and the Indexed Job's JOB_COMPLETION_INDEX tell a `chunk`/`stitch` run which part is its.
   */
  chunkThresholdSeconds: 'CHUNK_THRESHOLD_SECONDS',
  chunkSeconds: 'CHUNK_SECONDS',
  chunkCount: 'CHUNK_COUNT',
  chunkIndex: 'JOB_COMPLETION_INDEX',
  // S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY come from the storage Secret (common/config).
} as const;

export const TRANSCODER_TASKS = {
  thumbnail: 'thumbnail',
  rendition: 'rendition',
  chunk: 'chunk',
  stitch: 'stitch',
} as const;

/** The program a transcoder Job's container runs: the image's build output (tsc into /app/dist). */
export const TRANSCODER_COMMAND: readonly string[] = ['node', '/app/dist/transcoder-image/main.js'];

/** The arguments of one unit of work: the thumbnail (and probe), or one rendition. */
export function transcoderArgs(task: RenditionName | typeof TRANSCODER_TASKS.thumbnail): string[] {
  return task === TRANSCODER_TASKS.thumbnail
    ? [TRANSCODER_TASKS.thumbnail]
    : [TRANSCODER_TASKS.rendition, task];
}

/** The arguments of a chunked rendition's parts: `chunk <res>` (an Indexed Job) or `stitch <res>`. */
export function chunkArgs(task: 'chunk' | 'stitch', res: RenditionName): string[] {
  return [task, res];
}

/** Exit codes. BAD_INPUT fails the Job at once (podFailurePolicy); others are retried up to backoffLimit. */
export const EXIT_CODES = {
  ok: 0,
  internal: 1,
  badInput: 2,
  storage: 3,
  usage: 64,
} as const;

export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

/**
 * The kubelet keeps at most this many bytes of a container's termination message. A rendition that
 * succeeds writes its rendition.json there (compact JSON) when it fits, so the operator counts it
 * done at the Pod's exit instead of the Job's Complete condition; a longer one writes nothing and
 * the operator waits for the Job (operator/video/pod-results.ts).
 */
export const MAX_TERMINATION_MESSAGE_BYTES = 4096;
