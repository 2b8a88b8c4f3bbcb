/**
 * core/v1 Events about a Video (what `kubectl describe video` shows). CamelCase reasons; Warning
 * events mirror failing conditions. Repeats of the same event within an hour bump its count instead
 * of creating a new object. Best effort: a failed Event never fails a reconcile.
 */
import { randomBytes } from 'node:crypto';
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import type { Logger } from '../../common/logging/index.js';
import { REASONS, type Video } from '../../common/video/index.js';
import type { EventSpec } from './decide.js';

const REPEAT_WINDOW_MS = 60 * 60_000;

export class EventRecorder {
  private readonly seen = new Map<string, { name: string; count: number; at: number }>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly component: string,
    private readonly instance: string,
    private readonly logger: Logger,
  ) {}

  async record(video: Video, e: EventSpec): Promise<void> {
    const ns = video.metadata.namespace ?? 'default';
    const key = `${video.metadata.uid}|${e.type}|${e.reason}|${e.message}`;
    const now = new Date();
    try {
      const prev = this.seen.get(key);
      if (prev && now.getTime() - prev.at < REPEAT_WINDOW_MS) {
        prev.count++;
        prev.at = now.getTime();
        await this.core.patchNamespacedEvent(
          { name: prev.name, namespace: ns, body: { count: prev.count, lastTimestamp: now } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return;
      }
      const name = `${video.metadata.name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`;
      const body: CoreV1Event = {
        metadata: { name, namespace: ns },
        involvedObject: {
          apiVersion: video.apiVersion,
          kind: video.kind,
          name: video.metadata.name,
          namespace: ns,
          uid: video.metadata.uid,
          resourceVersion: video.metadata.resourceVersion,
        },
        type: e.type,
        reason: e.reason,
        message: e.message.slice(0, 1024),
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      await this.core.createNamespacedEvent({ namespace: ns, body });
      this.seen.set(key, { name, count: 1, at: now.getTime() });
      if (this.seen.size > 5000) this.seen.delete(this.seen.keys().next().value as string);
    } catch (err) {
      this.seen.delete(key);
      this.logger.warn({ err: (err as Error)?.message, reason: e.reason }, 'could not record event');
    }
  }
}

/** The JobCreated events of one decision as one event naming every Job, in place of the first. */
export function mergeJobCreated(events: EventSpec[]): EventSpec[] {
  const created = events.filter((e) => e.reason === REASONS.jobCreated && e.type === 'Normal');
  if (created.length < 2) return events;
  const what = created.map((e) => e.message.replace(/^Created Job /, ''));
  const merged: EventSpec = {
    type: 'Normal',
    reason: REASONS.jobCreated,
    message: `Created Jobs ${what.join(', ')}`,
  };
  const first = events.indexOf(created[0]!);
  return events.flatMap((e, i) => (i === first ? [merged] : created.includes(e) ? [] : [e]));
}

/**
 * Events recorded in order in the background: they never slow down or fail a reconcile. The
 * JobCreated events of one pass (a Video's first pass starts several Jobs) become one Event.
 */
export class BackgroundEvents {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly recorder: Pick<EventRecorder, 'record'>) {}

  record(video: Video, all: EventSpec[]): void {
    const events = mergeJobCreated(all);
    if (events.length === 0) return;
    this.chain = this.chain.then(async () => {
      for (const e of events) await this.recorder.record(video, e);
    });
  }

  /** Resolves once every event queued so far was recorded (or given up). */
  flush(): Promise<void> {
    return this.chain;
  }
}
