/**
 * The Video reconciler: one pass per key, observe → decide → act → status.
 *
 *   cache (or own last write) ─→ observe (S3, Pods) ─→ decide() once ─→ act: each action in order
 *        ─→ write the decided status (one merge patch, only if changed) ─→ publish a status message
 *           if it is news ─→ record the events (in the background) ─→ requeue after, if asked
 *
 * The Video is read from the informer cache (or from the answer to this replica's own last write to
 * it, while the cache has not caught up), not from the API server: a GET per reconcile was a third of
 * all requests. A write that meets a 409 Conflict (the cache was behind) makes the pass run once more
 * on a fresh GET; a 404 ends it if the Video is gone.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { Logger } from '../../common/logging/index.js';
import type { Video } from '../../common/video/index.js';
import type { ReconcileResult } from '../runtime/manager.js';
import { httpCode, type Actor } from './act.js';
import { decide, type DecideSettings } from './decide.js';
import type { BackgroundEvents } from './events.js';
import { worthPublishing, type StatusMessages } from './messages.js';
import type { Observer } from './observe.js';
import type { OwnWrites } from './own-writes.js';
import type { ProgressTracker } from './progress.js';
import { writeStatus, type StatusClient } from './status.js';

export interface ReconcilerOptions {
  cached: (key: string) => Video | undefined;
  ownWrites: OwnWrites;
  statusClient: StatusClient;
  observer: Observer;
  actor: Actor;
  messages: StatusMessages;
  events: BackgroundEvents;
  settings: DecideSettings;
  logger: Logger;
  /** The transcoders' progress (video/progress.ts): handed to decide() when a write is due. */
  progress?: Pick<ProgressTracker, 'due' | 'settled'>;
}

export class VideoReconciler {
  constructor(private readonly o: ReconcilerOptions) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const known = this.o.ownWrites.latest(key, this.o.cached(key));
    if (!known) return {};
    try {
      // A copy: nothing below may change the cached object by accident.
      return await this.pass(key, structuredClone(known));
    } catch (err) {
      const [namespace = '', name = ''] = key.split('/');
      if (httpCode(err) === 404) {
        // A write found the Video gone: a pass on a cache that had not yet seen the deletion (e.g. the
        // finalizer removed by the previous pass, the object deleted since). Done, if it is gone.
        if (!(await this.exists(namespace, name))) return {};
        throw err;
      }
      if (httpCode(err) !== 409) throw err;
      let fresh: Video;
      try {
        fresh = this.o.ownWrites.remember(await this.o.statusClient.get(namespace, name));
      } catch (e) {
        if (httpCode(e) === 404) return {};
        throw e;
      }
      this.o.logger.debug({ video: key }, 'conflict: reconciling again on a fresh read');
      return this.pass(key, structuredClone(fresh));
    }
  }

  private async pass(key: string, video: Video): Promise<ReconcileResult> {
    const tStart = performance.now();
    const uid = video.metadata.uid ?? '';
    const observed = await this.o.observer.observe(video);
    const progress = this.o.progress?.due(uid);
    if (progress) observed.progress = progress;
    const decision = decide(observed, this.o.settings);
    const tObserved = performance.now();
    let current = video;
    const created = new Map<string, V1Job>();
    for (const action of decision.actions) current = await this.o.actor.act(current, action, created);
    const tActed = performance.now();
    if (decision.status) {
      const written = await writeStatus(this.o.statusClient, current, decision.status);
      if (progress) this.o.progress?.settled(uid, written !== undefined);
      if (written) {
        current = this.o.ownWrites.remember(written);
        if (worthPublishing(video.status ?? {}, decision.status))
          this.o.messages.publish(current, decision.status);
      }
    }
    this.o.events.record(current, decision.events);
    this.o.logger.debug(
      {
        video: key,
        phase: decision.status?.phase,
        actions: decision.actions.map((a) => a.type),
        jobsCreated: created.size,
        ms: {
          observe: Math.round(tObserved - tStart),
          act: Math.round(tActed - tObserved),
          status: Math.round(performance.now() - tActed),
        },
      },
      'reconciled',
    );
    return decision.requeueAfterMs ? { requeueAfterMs: decision.requeueAfterMs } : {};
  }

  /** Whether the Video still exists on the API server (a GET; 404 → false). */
  private async exists(namespace: string, name: string): Promise<boolean> {
    try {
      await this.o.statusClient.get(namespace, name);
      return true;
    } catch (e) {
      if (httpCode(e) === 404) return false;
      throw e;
    }
  }
}
