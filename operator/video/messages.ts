/**
 * The operator's side of the status message contract (common/video/status-message.ts): one
 * message per change a consumer cares about, with a sequence monotonic per Video.
 */
import {
  DELETED_ROUTING_KEY,
  statusRoutingKey,
  toStatusMessage,
  type Video,
  type VideoStatus,
} from '../../common/video/index.js';
import type { StatusSink } from './publish.js';

/** The per-rendition phases (and progress) of a status, as one comparable string. */
const renditionStates = (status: VideoStatus) =>
  (status.renditions ?? [])
    .map(
      (r) => `${r.name}:${r.phase}:${r.progress?.percent ?? ''}:${r.progress?.estimatedCompletionTime ?? ''}`,
    )
    .join(',');

/**
 * Whether a status write is news for consumers: a phase change, a new generation, a rendition
 * finishing, or a rendition's progress (coalesced by the progress tracker: at most one such write per
 * Video every PROGRESS_WRITE_INTERVAL; the admin console shows it).
 */
export function worthPublishing(before: VideoStatus, after: VideoStatus): boolean {
  return (
    before.phase !== after.phase ||
    before.observedGeneration !== after.observedGeneration ||
    renditionStates(before) !== renditionStates(after)
  );
}

export class StatusMessages {
  private readonly sequences = new Map<string, number>();

  constructor(
    private readonly sink: StatusSink,
    private readonly now: () => number = Date.now,
  ) {}

  /** The Video's status (`status`, default its own) under `video.<phase>`. */
  publish(video: Video, status: VideoStatus = video.status ?? {}): void {
    const msg = toStatusMessage(video, { status, sequence: this.next(video) });
    this.sink.publish(statusRoutingKey(msg.phase), msg);
  }

  /** The last message of a Video: it and its media are gone. */
  publishDeleted(video: Video): void {
    const msg = toStatusMessage(video, { sequence: this.next(video), deleted: true });
    this.sink.publish(DELETED_ROUTING_KEY, msg);
  }

  /** max(now in ms, previous + 1): increasing per Video, also across a restart (the clock moved on). */
  private next(video: Video): number {
    const uid = video.metadata.uid ?? '';
    const seq = Math.max(this.now(), (this.sequences.get(uid) ?? 0) + 1);
    this.sequences.set(uid, seq);
    return seq;
  }
}
