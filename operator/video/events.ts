/**
 * core/v1 Events about a Video (what `kubectl describe video` shows). CamelCase reasons; Warning
 * events mirror failing conditions. Repeats of the same event within an hour bump its count instead
 * of creating a new object. Best effort: a failed Event never fails a reconcile.
 */
import { randomBytes } from 'node:crypto';
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import type { Logger } from '../../common/logging/index.js';
import type { Video } from '../../common/video/index.js';
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
