/**
 * The media auditor: a processed Video must not keep claiming Ready when its media disappeared (a lost
 * volume, a bucket emptied by hand, a restore). While this replica leads, it walks the processed Videos
 * of the cache, one HEAD of each master playlist at a time, paced at `perSecond` (10,000 Videos at 10/s
 * is a sweep of ~17 min, a steady trickle of cheap requests, never a burst), starting a sweep at most
 * every `intervalMs` (the first one an interval after taking the lead). A result that changes what the status says (missing while MediaAvailable is not
 * False, or found while it is False) is recorded and the Video enqueued; the reconcile reads the
 * recorded result (no I/O of its own) and decide() sets MediaAvailable and Ready.
 */
import type { Client as MinioClient } from 'minio';
import type { Logger } from '../../common/logging/index.js';
import { CONDITION_TYPES, findCondition, type Video } from '../../common/video/index.js';
import type { MediaCheck } from './decide.js';

/** Pure: a processed Video whose media the auditor checks (a master playlist, not failed, not deleted). */
export function auditable(video: Video): boolean {
  if (video.metadata.deletionTimestamp || !video.status?.masterPlaylistKey) return false;
  return findCondition(video.status.conditions, CONDITION_TYPES.failed)?.status !== 'True';
}

/** Pure: whether a check's result is news for the Video's status (worth a reconcile). */
export function mediaCheckChangesStatus(video: Video, check: MediaCheck): boolean {
  if (check.key !== video.status?.masterPlaylistKey) return false;
  const missingNow = check.missing.length > 0;
  const saidMissing =
    findCondition(video.status?.conditions, CONDITION_TYPES.mediaAvailable)?.status === 'False';
  return missingNow !== saidMissing;
}

export type StatResult = 'found' | 'missing';

export interface MediaAuditorOptions {
  /** The Videos to consider (the informer cache). */
  list: () => Video[];
  /** HEAD of an object in the media bucket; throws on errors that say nothing (timeouts, 5xx). */
  stat: (key: string) => Promise<StatResult>;
  /** `<bucket>/<key>` for messages. */
  describe: (key: string) => string;
  /** A check changed what the Video's status should say: reconcile it. */
  onChange: (video: Video, check: MediaCheck) => void;
  intervalMs: number;
  perSecond: number;
  logger: Logger;
  /** Counts checks by result (found, missing, error). */
  onCheck?: (result: StatResult | 'error') => void;
}

export class MediaAuditor {
  private readonly results = new Map<string, MediaCheck>();
  private running = false;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private loop?: Promise<void>;

  constructor(private readonly o: MediaAuditorOptions) {}

  /** The last check of a Video (by uid), for the reconcile's observe step. */
  result(uid: string): MediaCheck | undefined {
    return this.results.get(uid);
  }

  start(): void {
    if (this.running || this.o.intervalMs <= 0 || this.o.perSecond <= 0) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref?.();
    });
  }

  private async run(): Promise<void> {
    const gap = 1000 / this.o.perSecond;
    // the first sweep one interval after taking the lead, not at once: a failover is no reason for a burst
    await this.sleep(this.o.intervalMs);
    while (this.running) {
      const started = Date.now();
      const seen = new Set<string>();
      for (const video of this.o.list()) {
        if (!this.running) return;
        if (!auditable(video)) continue;
        const uid = video.metadata.uid ?? '';
        seen.add(uid);
        await this.check(video);
        await this.sleep(gap);
      }
      for (const uid of this.results.keys()) if (!seen.has(uid)) this.results.delete(uid);
      const rest = this.o.intervalMs - (Date.now() - started);
      if (rest > 0 && this.running) await this.sleep(rest);
    }
  }

  private async check(video: Video): Promise<void> {
    const key = video.status?.masterPlaylistKey ?? '';
    const uid = video.metadata.uid ?? '';
    let result: StatResult;
    try {
      result = await this.o.stat(key);
    } catch (err) {
      this.o.onCheck?.('error');
      this.o.logger.warn({ key, err: (err as Error).message }, 'media check failed; trying again next sweep');
      return;
    }
    this.o.onCheck?.(result);
    const check: MediaCheck = { key, missing: result === 'missing' ? [this.o.describe(key)] : [] };
    this.results.set(uid, check);
    if (mediaCheckChangesStatus(video, check)) {
      this.o.logger.info(
        { video: `${video.metadata.namespace}/${video.metadata.name}`, key, result },
        result === 'missing' ? 'media missing' : 'media found again',
      );
      this.o.onChange(video, check);
    }
  }
}

/** HEAD of an object in the media bucket: found or missing; other errors (timeouts, 5xx) throw. */
export async function statMedia(storage: MinioClient, bucket: string, key: string): Promise<StatResult> {
  try {
    await storage.statObject(bucket, key);
    return 'found';
  } catch (err) {
    if (isMissing(err)) return 'missing';
    throw err;
  }
}

/** Whether an object-storage error says the object (or its bucket) does not exist. */
export const isMissing = (err: unknown): boolean =>
  ['NotFound', 'NoSuchKey', 'NoSuchBucket'].includes((err as { code?: string })?.code ?? '');
