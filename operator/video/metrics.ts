/**
 * Prometheus metrics of one operator instance: the runtime's (reconciles, queue, leader, informers)
 * and the Videos' (Jobs, phases, messages, media checks). Its own registry: two can run in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FAILURE_REASONS } from './gauges.js';

export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  reconcileDuration: Histogram<'result'>;
  queueDepth: Gauge;
  jobs: Gauge<'task' | 'outcome'>;
  jobsCreated: Counter<'task'>;
  videos: Gauge<'phase'>;
  leader: Gauge;
  informerRestarts: Counter<'informer' | 'reason'>;
  published: Counter<'result'>;
  outbox: Gauge;
  mediaChecks: Counter<'result'>;
  encodeDuration: Histogram<'task'>;
  videosFailed: Counter<'reason'>;
  processingOldest: Gauge;
  processingPastEta: Gauge;
}

export interface MetricsSources {
  queueDepth: () => number;
  jobsByOutcome: () => Array<{ task: string; outcome: string; count: number }>;
  videosByPhase: () => Record<string, number>;
  isLeader: () => boolean;
  outboxSize: () => number;
  /** Age in seconds of the oldest Processing Video (0: none). */
  oldestProcessingSeconds: () => number;
  /** Seconds the Processing Video furthest behind its estimated completion is past it (0: none). */
  pastEtaSeconds: () => number;
}

export function createMetrics(src: MetricsSources, opts: { defaultMetrics?: boolean } = {}): OperatorMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const p = 'videoflix_operator_';
  const metrics: OperatorMetrics = {
    registry,
    reconciles: new Counter({
      name: `${p}reconcile_total`,
      help: 'Reconciles by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: `${p}reconcile_duration_seconds`,
      help: 'Reconcile duration',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: `${p}workqueue_depth`,
      help: 'Keys waiting in the work queue',
      registers: [registry],
      collect() {
        this.set(src.queueDepth());
      },
    }),
    jobs: new Gauge({
      name: `${p}jobs`,
      help: 'Jobs owned by the operator, by task and outcome (Active, Complete, Failed)',
      labelNames: ['task', 'outcome'],
      registers: [registry],
      collect() {
        this.reset();
        for (const j of src.jobsByOutcome()) this.set({ task: j.task, outcome: j.outcome }, j.count);
      },
    }),
    jobsCreated: new Counter({
      name: `${p}jobs_created_total`,
      help: 'Jobs created',
      labelNames: ['task'],
      registers: [registry],
    }),
    videos: new Gauge({
      name: `${p}videos`,
      help: 'Videos by phase',
      labelNames: ['phase'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [phase, n] of Object.entries(src.videosByPhase())) this.set({ phase }, n);
      },
    }),
    leader: new Gauge({
      name: `${p}leader`,
      help: '1 when this replica holds the Lease',
      registers: [registry],
      collect() {
        this.set(src.isLeader() ? 1 : 0);
      },
    }),
    informerRestarts: new Counter({
      name: `${p}informer_restarts_total`,
      help: 'Informer restarts by reason',
      labelNames: ['informer', 'reason'],
      registers: [registry],
    }),
    published: new Counter({
      name: `${p}status_messages_total`,
      help: 'Status messages by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    outbox: new Gauge({
      name: `${p}status_outbox_size`,
      help: 'Status messages waiting for the broker',
      registers: [registry],
      collect() {
        this.set(src.outboxSize());
      },
    }),
    mediaChecks: new Counter({
      name: `${p}media_checks_total`,
      help: "HEADs of processed Videos' master playlists by result (found, missing, error)",
      labelNames: ['result'],
      registers: [registry],
    }),
    encodeDuration: new Histogram({
      name: `${p}encode_duration_seconds`,
      help: 'Run time of completed transcoder Jobs by task (rendition or thumbnail): Job startTime to completionTime, observed by the leader',
      labelNames: ['task'],
      buckets: [5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
      registers: [registry],
    }),
    videosFailed: new Counter({
      name: `${p}videos_failed_total`,
      help: 'Videos that turned Failed, by reason (the Failed condition), counted by the leader',
      labelNames: ['reason'],
      registers: [registry],
    }),
    processingOldest: new Gauge({
      name: `${p}processing_oldest_seconds`,
      help: 'Age of the oldest Processing Video in seconds (since it entered Processing; 0 = none)',
      registers: [registry],
      collect() {
        this.set(src.oldestProcessingSeconds());
      },
    }),
    processingPastEta: new Gauge({
      name: `${p}processing_past_eta_seconds`,
      help: 'Seconds by which now is past the estimated completion of the Processing Video furthest behind it (latest ETA of its running renditions; Videos without an estimate do not count; 0 = none)',
      registers: [registry],
      collect() {
        this.set(src.pastEtaSeconds());
      },
    }),
  };
  for (const reason of FAILURE_REASONS) metrics.videosFailed.inc({ reason }, 0);
  return metrics;
}
