/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection:
 * - a candidate takes the Lease when it is free or its holder has not renewed it for
 *   leaseDurationSeconds, measured on the local clock from the moment this candidate last saw the
 *   record change (so clock skew between nodes does not matter);
 * - every write carries the Lease's resourceVersion, so two candidates can never both win;
 * - the leader renews every retryPeriod and steps down if it could not renew within renewDeadline;
 * - on stop, the leader releases the Lease so a standby takes over at once.
 */
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../common/logging/index.js';
import { sleep } from './backoff.js';

export interface LeaderElectorOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  /** Release the Lease on stop() so a standby takes over at once (default true). */
  releaseOnStop?: boolean;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

const code = (err: unknown) => (err as { code?: number })?.code;

export class LeaderElector {
  private leading = false;
  private abort = new AbortController();
  private running?: Promise<void>;
  private observed?: { record: string; at: number };
  private lastRenew = 0;
  private readonly leaseDurationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(private readonly o: LeaderElectorOptions) {
    this.leaseDurationSeconds = o.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseDurationSeconds * 1000)
      throw new Error('renewDeadline must be shorter than leaseDuration');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  get identity(): string {
    return this.o.identity;
  }

  start(): void {
    if (this.running) return;
    this.abort = new AbortController();
    this.running = this.loop();
  }

  /** Stops campaigning; a leader releases the Lease first. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.running = undefined;
    if (this.leading && (this.o.releaseOnStop ?? true)) {
      await this.release().catch((err: unknown) => this.o.logger.warn({ err }, 'lease release failed'));
    }
    this.setLeading(false);
  }

  private setLeading(v: boolean) {
    if (v === this.leading) return;
    this.leading = v;
    this.o.logger.info(
      { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity },
      v ? 'became leader' : 'stopped leading',
    );
    try {
      if (v) this.o.onStartedLeading();
      else this.o.onStoppedLeading();
    } catch (err) {
      this.o.logger.error({ err }, 'leader callback threw');
    }
  }

  private async loop() {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let ok = false;
      try {
        ok = await this.attempt();
      } catch (err) {
        this.o.logger.warn({ err: (err as Error)?.message ?? String(err) }, 'lease acquire/renew failed');
      }
      if (ok) {
        this.lastRenew = Date.now();
        this.setLeading(true);
      } else if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs) {
        this.setLeading(false);
      }
      await sleep(this.retryPeriodMs, signal);
    }
  }

  /**
   * One round, bounded for a leader by its renew deadline (client-go's renew runs under a context with that
   * timeout): a request that hangs (the API server unreachable, packets dropped) must not keep this process
   * leading past the deadline, or it would still act after the Lease expired and a standby took it. A renew
   * that answers after the deadline is ignored: this candidate has stepped down already.
   */
  private async attempt(): Promise<boolean> {
    if (!this.leading) return this.tryAcquireOrRenew();
    const left = Math.max(0, this.lastRenew + this.renewDeadlineMs - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), left);
    });
    const round = this.tryAcquireOrRenew();
    round.catch(() => undefined); // an answer after the deadline is not waited for
    try {
      return await Promise.race([round, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private spec(now: Date, acquire: boolean, previous?: V1Lease) {
    const prev = previous?.spec;
    return {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: this.leaseDurationSeconds,
      acquireTime: acquire ? new V1MicroTime(now.getTime()) : prev?.acquireTime,
      renewTime: new V1MicroTime(now.getTime()),
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (acquire && prev?.holderIdentity ? 1 : 0),
    };
  }

  /** One round: true when this candidate holds the Lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.o;
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (code(err) !== 404) throw err;
      try {
        await api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: this.spec(now, true),
          },
        });
        return true;
      } catch (e) {
        if (code(e) === 409) return false;
        throw e;
      }
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const record = `${holder}|${lease.spec?.renewTime ? new Date(lease.spec.renewTime).toISOString() : ''}`;
    if (!this.observed || this.observed.record !== record) this.observed = { record, at: Date.now() };
    const duration = (lease.spec?.leaseDurationSeconds ?? this.leaseDurationSeconds) * 1000;
    const expired = this.observed.at + duration < Date.now();
    if (holder && holder !== identity && !expired) return false;
    try {
      await api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { ...lease.metadata, name, namespace, resourceVersion: lease.metadata?.resourceVersion },
          spec: this.spec(now, holder !== identity, lease),
        },
      });
      return true;
    } catch (err) {
      if (code(err) === 409) return false;
      throw err;
    }
  }

  private async release() {
    const { api, namespace, name, identity } = this.o;
    const lease = await api.readNamespacedLease({ name, namespace });
    if (lease.spec?.holderIdentity !== identity) return;
    await api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: undefined,
          leaseDurationSeconds: 1,
          renewTime: new V1MicroTime(Date.now()),
        },
      },
    });
  }
}
