/**
 * The fault tier's helpers (issue 20): the platform of `make dev` as the end-to-end tier reaches it
 * (test/support/platform.ts), plus what breaking it needs: the Pods of a component, killing one, waiting
 * for its replacement, the operator's Lease holder, an audit of a Video's Jobs (every Job object ever
 * created, from a watch), a watch on the master playlist's writes, and the figures each scenario records
 * to test-results/faults/<scenario>.json (test/faults/hooks.ts prints them as a table at the end).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import amqp from 'amqplib';
import { GROUP, LABELS, PLURAL, keys } from '../../common/video/index.js';
import { waitForMail } from '../support/mail.js';
import {
  ensurePlatform,
  kubectlAsync,
  kubectlJson,
  NS,
  openS3,
  platformConfig,
  portForward,
  ROOT,
  secretValue,
  type Endpoints,
  type S3Access,
} from '../support/platform.js';
import { GiveUp, waitFor } from '../support/waiters.js';

export { NS, ROOT, GROUP, PLURAL };
export const RESULTS_DIR = path.join(ROOT, 'test-results/faults');
/** Bound for a Video to end Ready or Failed after its fault (a loaded 2-core machine; never a hang). */
export const SETTLE_TIMEOUT_MS = Number(process.env.FAULTS_SETTLE_TIMEOUT_MS ?? 6 * 60_000);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const seconds = (ms: number) => Math.round(ms / 100) / 10;
/** A random integer in [lo, hi]. */
export const randomInt = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

// ---- figures ------------------------------------------------------------------------------------------------
export type Figure = number | string | boolean | null;
export interface ScenarioRecord {
  id: string;
  fault: string;
  checked: string;
  figures: Record<string, Figure>;
  state?: 'passed' | 'failed';
  error?: string;
  durationSeconds?: number;
}
const records = new Map<string, ScenarioRecord>();

/** Starts the record of the running test's scenario; its figures are written (passed or failed) after it. */
export function scenario(
  ctx: Mocha.Context,
  id: string,
  fault: string,
  checked: string,
): Record<string, Figure> {
  const r: ScenarioRecord = { id, fault, checked, figures: {} };
  records.set(ctx.test!.fullTitle(), r);
  return r.figures;
}

/** Called by the root afterEach hook: writes the record of the test that just ran. */
export function writeRecord(test: Mocha.Runnable): void {
  const r = records.get(test.fullTitle());
  if (!r) return;
  r.state = test.state === 'passed' ? 'passed' : 'failed';
  const err = (test as Mocha.Test & { err?: Error }).err;
  if (err) r.error = err.message.split('\n')[0]!.slice(0, 400);
  r.durationSeconds = test.duration !== undefined ? seconds(test.duration) : undefined;
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, `${r.id}.json`), `${JSON.stringify(r, null, 2)}\n`);
}

/** Every record under test-results/faults, ordered by scenario id. */
export function readRecords(): ScenarioRecord[] {
  if (!fs.existsSync(RESULTS_DIR)) return [];
  return fs
    .readdirSync(RESULTS_DIR)
    .filter((f) => f.endsWith('.json') && f !== 'summary.json')
    .map((f) => JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, f), 'utf8')) as ScenarioRecord)
    .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}

/** The records as a Markdown table (printed at the end of the tier, pasted into README.md). */
export function recordsTable(rows: ScenarioRecord[]): string {
  const cell = (t: string) => t.replace(/\|/g, '/').replace(/\n/g, ' ');
  const fmt = (f: Record<string, Figure>) =>
    Object.entries(f)
      .map(([k, v]) => `${k} ${v === null ? '-' : String(v)}`)
      .join(', ');
  return [
    '| # | fault | checked | figures | result |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.id} | ${cell(r.fault)} | ${cell(r.checked)} | ${cell(fmt(r.figures))} | ${r.state ?? '?'}${r.error ? `: ${cell(r.error)}` : ''} |`,
    ),
  ].join('\n');
}

// ---- the platform through its API ---------------------------------------------------------------------------
export interface AdminVideo {
  id: number;
  title: string;
  phase: string;
  error: string | null;
  renditions: Array<{ name: string; phase: string }>;
  resource: { name: string } | null;
}

export interface Session {
  access: string;
  refresh: string;
  cookie: string;
}

export class Platform {
  readonly api: string;
  admin!: Session;
  private s3Access?: S3Access;

  private constructor(readonly env: Endpoints) {
    this.api = env.API_URL.replace(/\/+$/, '');
  }

  /** The running platform (brought up by `hack/dev.sh up` when there is none), with the admin signed in. */
  static async open(): Promise<Platform> {
    const p = new Platform(await ensurePlatform());
    p.admin = await p.login(p.env.ADMIN_EMAIL, p.env.ADMIN_PASSWORD);
    return p;
  }

  async login(email: string, password: string): Promise<Session> {
    const res = await fetch(`${this.api}/api/login/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: this.api },
      body: JSON.stringify({ email, password }),
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status !== 200) throw new Error(`login of ${email}: ${res.status} ${await res.text()}`);
    const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]!);
    const value = (name: string) =>
      cookies.find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1) ?? '';
    const access = value('access_token');
    const refresh = value('refresh_token');
    return { access, refresh, cookie: `access_token=${access}; refresh_token=${refresh}` };
  }

  /** A new user, registered and activated through the link of the mail the bundled mail catcher captured. */
  async newUser(tag: string): Promise<{ email: string; password: string; session: Session }> {
    const email = `faults-${tag}@example.test`;
    const password = 'lantern-orbit-velvet-42';
    const reg = await fetch(`${this.api}/api/register/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: this.api },
      body: JSON.stringify({ email, password, confirmed_password: password }),
    });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);
    process.env.MAIL_API_URL = this.env.MAIL_API_URL;
    // the mail catcher asks for basic auth (test/support/mail.ts sends MAIL_USER / MAIL_PASSWORD when set)
    if (this.env.MAIL_USER) process.env.MAIL_USER = this.env.MAIL_USER;
    if (this.env.MAIL_PASSWORD) process.env.MAIL_PASSWORD = this.env.MAIL_PASSWORD;
    const mail = await waitForMail({ to: email, subject: /confirm/i }, { timeoutMs: 60_000 });
    const link = /https?:\/\/[^\s"<]*uid=[^\s"<]+/.exec(mail.text ?? '')?.[0];
    if (!link) throw new Error(`no activation link in: ${mail.text}`);
    const q = new URL(link).searchParams;
    const act = await fetch(`${this.api}/api/activate/${q.get('uid')}/${q.get('token')}/`);
    if (act.status !== 200) throw new Error(`activate: ${act.status} ${await act.text()}`);
    return { email, password, session: await this.login(email, password) };
  }

  /** GET through the ingress with a session's cookies; never hangs (10 s). */
  get(p: string, session?: Session, timeoutMs = 10_000): Promise<Response> {
    return fetch(`${this.api}${p}`, {
      headers: session ? { Cookie: session.cookie } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
  }

  async upload(file: string, title: string): Promise<number> {
    const form = new FormData();
    form.set('title', title);
    form.set('description', 'uploaded by the fault tier (test/faults)');
    form.set('category', 'Faults');
    form.set('file', new Blob([await fsp.readFile(file)], { type: 'video/mp4' }), path.basename(file));
    const res = await fetch(`${this.api}/api/admin/videos/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.admin.access}` },
      body: form,
      signal: AbortSignal.timeout(120_000),
    });
    if (res.status !== 202) throw new Error(`upload of ${title}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: number }).id;
  }

  async adminList(): Promise<AdminVideo[]> {
    const res = await fetch(`${this.api}/api/admin/videos/`, {
      headers: { Authorization: `Bearer ${this.admin.access}` },
      signal: AbortSignal.timeout(15_000),
    });
    if (res.status === 401) {
      this.admin = await this.login(this.env.ADMIN_EMAIL, this.env.ADMIN_PASSWORD);
      return this.adminList();
    }
    if (res.status !== 200) throw new Error(`GET /api/admin/videos/: ${res.status} ${await res.text()}`);
    return (await res.json()) as AdminVideo[];
  }

  async row(id: number): Promise<AdminVideo | undefined> {
    return (await this.adminList()).find((v) => v.id === id);
  }

  /** The catalog row in `phase`; a Failed row (when another phase is awaited) stops the wait at once. */
  waitPhase(
    id: number,
    phase: string,
    timeoutMs = SETTLE_TIMEOUT_MS,
    intervalMs = 1000,
  ): Promise<AdminVideo> {
    return waitFor(
      async () => {
        const v = await this.row(id);
        if (v?.phase === 'Failed' && phase !== 'Failed') {
          throw Object.assign(new Error(`video ${id} Failed: ${v.error}`), { failed: true });
        }
        if (v?.phase === phase) return v;
        throw new Error(`video ${id} ${v ? `${v.phase} ${JSON.stringify(v.renditions)}` : 'not listed'}`);
      },
      { timeoutMs, intervalMs, what: `video ${id} ${phase} in the catalog` },
    );
  }

  /** The name of the Video resource the API created for catalog row `id`. */
  async resourceName(id: number): Promise<string> {
    const v = await waitFor(async () => (await this.row(id))?.resource?.name, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: `the Video resource of catalog row ${id}`,
    });
    return v;
  }

  /** A minio client for the in-cluster S3 server (a new port-forward after the server's Pod changed). */
  async s3(): Promise<S3Access> {
    if (this.s3Access) {
      try {
        await this.s3Access.client.bucketExists(this.s3Access.mediaBucket);
        return this.s3Access;
      } catch {
        await this.s3Access.stop();
        this.s3Access = undefined;
      }
    }
    this.s3Access = await openS3();
    return this.s3Access;
  }

  async close(): Promise<void> {
    await this.s3Access?.stop();
  }
}

// ---- Kubernetes objects ---------------------------------------------------------------------------------------
export interface PodInfo {
  name: string;
  uid: string;
  phase: string;
  ready: boolean;
  deleting: boolean;
  restarts: number;
  labels: Record<string, string>;
  terminated?: { reason?: string; exitCode?: number; message?: string };
}

interface PodJson {
  metadata: { name: string; uid: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: {
    phase?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{
      restartCount: number;
      state?: { terminated?: { reason?: string; exitCode?: number; message?: string } };
      lastState?: { terminated?: { reason?: string; exitCode?: number; message?: string } };
    }>;
  };
}

const podInfo = (p: PodJson): PodInfo => {
  const cs = p.status?.containerStatuses ?? [];
  return {
    name: p.metadata.name,
    uid: p.metadata.uid,
    phase: p.status?.phase ?? 'Unknown',
    ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    deleting: Boolean(p.metadata.deletionTimestamp),
    restarts: cs.reduce((n, c) => n + c.restartCount, 0),
    labels: p.metadata.labels ?? {},
    terminated: cs.map((c) => c.state?.terminated ?? c.lastState?.terminated).find(Boolean),
  };
};

/** The Pods of a selector in the platform's namespace. */
export async function pods(selector: string): Promise<PodInfo[]> {
  const list = await kubectlJson<{ items: PodJson[] }>(['get', 'pods', '-n', NS, '-l', selector]);
  return list.items.map(podInfo);
}

export const componentSelector = (component: string) => `${LABELS.component}=${component}`;

/** The one Ready, not deleting Pod of a chart component (api, operator, postgresql, rabbitmq, versitygw). */
export async function readyPod(component: string, notUid?: string): Promise<PodInfo | undefined> {
  return (await pods(componentSelector(component))).find((p) => p.ready && !p.deleting && p.uid !== notUid);
}

/** Waits for a Ready Pod of `component` other than the one with uid `notUid`; resolves with it. */
export function waitForReplacement(
  component: string,
  notUid?: string,
  timeoutMs = 5 * 60_000,
): Promise<PodInfo> {
  return waitFor(
    async () => {
      const found = await readyPod(component, notUid);
      if (found) return found;
      throw new Error(
        `pods: ${JSON.stringify((await pods(componentSelector(component))).map((p) => [p.name, p.phase, p.ready, p.deleting]))}`,
      );
    },
    {
      timeoutMs,
      intervalMs: 500,
      what: `a Ready ${component} Pod${notUid ? ' replacing the one deleted' : ''}`,
    },
  );
}

/** Deletes a Pod: `force` = grace period 0 (SIGKILL, no clean shutdown), else the Pod's own grace period. */
export async function deletePod(name: string, opts: { force?: boolean } = {}): Promise<void> {
  await kubectlAsync([
    'delete',
    'pod',
    name,
    '-n',
    NS,
    '--wait=false',
    ...(opts.force ? ['--grace-period=0', '--force'] : []),
  ]);
}

/** The workload (statefulset/x or deployment/x) of a chart component. */
export async function workloadOf(component: string): Promise<string> {
  for (const kind of ['statefulset', 'deployment']) {
    const list = await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>([
      'get',
      kind,
      '-n',
      NS,
      '-l',
      componentSelector(component),
    ]);
    if (list.items[0]) return `${kind}/${list.items[0].metadata.name}`;
  }
  throw new Error(`no StatefulSet or Deployment with ${componentSelector(component)} in ${NS}`);
}

export async function scale(workload: string, replicas: number): Promise<void> {
  await kubectlAsync(['scale', workload, '-n', NS, `--replicas=${replicas}`]);
}

/** The value of an environment variable of a component's first container, resolving a secretKeyRef. */
export async function componentEnv(component: string, name: string): Promise<string> {
  const w = await workloadOf(component);
  const obj = await kubectlJson<{
    spec: {
      template: {
        spec: {
          containers: Array<{
            env?: Array<{
              name: string;
              value?: string;
              valueFrom?: { secretKeyRef?: { name: string; key: string } };
            }>;
          }>;
        };
      };
    };
  }>(['get', w, '-n', NS]);
  const e = obj.spec.template.spec.containers[0]?.env?.find((x) => x.name === name);
  if (e?.value !== undefined) return e.value;
  const ref = e?.valueFrom?.secretKeyRef;
  if (ref) return secretValue(ref.name, ref.key);
  throw new Error(`${w} sets no ${name}`);
}

/** The holder of the operator's Lease (the leader's Pod name), or '' when none holds it. */
export async function leaseHolder(leaseName: string): Promise<string> {
  const l = await kubectlJson<{ spec?: { holderIdentity?: string } }>(['get', 'lease', leaseName, '-n', NS]);
  return l.spec?.holderIdentity ?? '';
}

/**
 * After a rollout of the operator: waits until no operator Pod is terminating and the Lease is held by a
 * Ready one, so that the next Video is reconciled by a Pod with the new settings (the replaced leader
 * may act until it has released the Lease).
 */
export async function waitForSettledLeader(leaseName: string, timeoutMs = 120_000): Promise<string> {
  return waitFor(
    async () => {
      const ops = await pods(componentSelector('operator'));
      const holder = await leaseHolder(leaseName);
      const live = ops.filter((o) => o.ready && !o.deleting).map((o) => o.name);
      if (ops.some((o) => o.deleting) || !live.includes(holder))
        throw new Error(
          `Lease held by '${holder}'; operator Pods ${ops.map((o) => `${o.name}${o.deleting ? ' (terminating)' : ''}`).join(', ')}`,
        );
      return holder;
    },
    { timeoutMs, intervalMs: 1000, what: 'the operator Lease held by a Pod of the new rollout' },
  );
}

export interface VideoResource {
  metadata: { name: string; uid: string; finalizers?: string[]; generation?: number };
  status?: {
    phase?: string;
    observedGeneration?: number;
    conditions?: Array<{
      type: string;
      status: string;
      reason?: string;
      message?: string;
      lastTransitionTime?: string;
    }>;
    renditions?: Array<{ name: string; phase: string; message?: string }>;
    masterPlaylistKey?: string;
    message?: string;
  };
}

export async function videoResource(name: string): Promise<VideoResource> {
  return kubectlJson<VideoResource>(['get', `${PLURAL}.${GROUP}`, name, '-n', NS]);
}

export const masterKey = (uid: string) => keys.master(uid);

// ---- audits ----------------------------------------------------------------------------------------------------
/**
 * Every Job object of one Video, from a watch (so a Job created and deleted between two polls is seen):
 * uids per Job name. A name with two uids is a Job created twice (the operator never recreates a Job).
 */
export class JobAudit {
  readonly uids = new Map<string, Set<string>>();
  private req?: { abort(): void };
  private stopped = false;
  errors = 0;

  constructor(private readonly videoName: string) {}

  async start(): Promise<void> {
    const kc = platformConfig();
    const batch = kc.makeApiClient(k8s.BatchV1Api);
    const list = await batch.listNamespacedJob({
      namespace: NS,
      labelSelector: `${LABELS.video}=${this.videoName}`,
    });
    for (const j of list.items) this.see(j);
    await this.watch(kc, list.metadata?.resourceVersion);
  }

  private see(j: k8s.V1Job): void {
    const name = j.metadata?.name ?? '?';
    const set = this.uids.get(name) ?? new Set<string>();
    set.add(j.metadata?.uid ?? '?');
    this.uids.set(name, set);
  }

  private async watch(kc: k8s.KubeConfig, resourceVersion?: string): Promise<void> {
    if (this.stopped) return;
    let rv = resourceVersion;
    this.req = await new k8s.Watch(kc).watch(
      `/apis/batch/v1/namespaces/${NS}/jobs`,
      {
        labelSelector: `${LABELS.video}=${this.videoName}`,
        allowWatchBookmarks: true,
        ...(rv ? { resourceVersion: rv } : {}),
      },
      (type, obj: k8s.V1Job) => {
        rv = obj.metadata?.resourceVersion ?? rv;
        if (type === 'ADDED' || type === 'MODIFIED') this.see(obj);
      },
      (err) => {
        if (this.stopped) return;
        if (err) this.errors++;
        // a closed watch resumes where it stopped (a 410 Gone would make it relist: the list is cheap)
        setTimeout(
          () =>
            void this.watch(kc, (err as { code?: number } | null)?.code === 410 ? undefined : rv).catch(
              () => this.errors++,
            ),
          500,
        );
      },
    );
  }

  /** Job names created more than once. */
  duplicates(): string[] {
    return [...this.uids].filter(([, s]) => s.size > 1).map(([n]) => n);
  }

  stop(): void {
    this.stopped = true;
    this.req?.abort();
  }
}

/**
 * The writes of one object, seen by polling its Last-Modified (1 s resolution) and ETag: each distinct pair
 * is one write. Two writes within the same second with the same bytes look like one; a second write by
 * another leader (after a takeover, seconds later) is always seen.
 */
export class WriteWatch {
  readonly writes: Array<{ lastModified: string; etag: string; seenAt: number }> = [];
  private timer?: NodeJS.Timeout;
  private running = false;
  errors = 0;

  constructor(
    private readonly platform: Platform,
    private readonly bucket: () => Promise<string>,
    private readonly key: string,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
  }

  private async poll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const s3 = await this.platform.s3();
      const st = await s3.client.statObject(await this.bucket(), this.key);
      const lastModified = new Date(st.lastModified).toISOString();
      const last = this.writes.at(-1);
      if (!last || last.lastModified !== lastModified || last.etag !== st.etag) {
        this.writes.push({ lastModified, etag: st.etag, seenAt: Date.now() });
      }
    } catch (err) {
      if ((err as { code?: string }).code !== 'NotFound' && (err as { code?: string }).code !== 'NoSuchKey')
        this.errors++;
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** A port-forward to one Pod (bypasses the Service: reaches a Pod that is not Ready). */
export async function forwardToPod(
  pod: string,
  port: number,
): Promise<{ port: number; stop(): Promise<void> }> {
  return portForward(`pod/${pod}`, port);
}

/** Counts of HTTP outcomes ("200", "503", "error: ..."), with the first body seen per status. */
export class Outcomes {
  readonly counts: Record<string, number> = {};
  readonly bodies: Record<string, string> = {};

  add(status: string, body = ''): void {
    this.counts[status] = (this.counts[status] ?? 0) + 1;
    if (!(status in this.bodies)) this.bodies[status] = body.slice(0, 300);
  }

  async probe(fn: () => Promise<Response>): Promise<string> {
    try {
      const res = await fn();
      const body = await res.text();
      this.add(String(res.status), body);
      return String(res.status);
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      this.add(`error ${cause}`);
      return `error ${cause}`;
    }
  }

  count(pred: (status: string) => boolean): number {
    return Object.entries(this.counts)
      .filter(([s]) => pred(s))
      .reduce((n, [, c]) => n + c, 0);
  }
}

// ---- a Video's Jobs and Pods ----------------------------------------------------------------------------------
export interface JobInfo {
  name: string;
  rendition?: string;
  active: number;
  complete: boolean;
  failed: boolean;
}

/** The Jobs of a Video (label media.videoflix.io/video). */
export async function videoJobs(videoName: string): Promise<JobInfo[]> {
  const list = await kubectlJson<{
    items: Array<{
      metadata: { name: string; labels?: Record<string, string> };
      status?: { active?: number; conditions?: Array<{ type: string; status: string }> };
    }>;
  }>(['get', 'jobs', '-n', NS, '-l', `${LABELS.video}=${videoName}`]);
  const cond = (j: (typeof list.items)[number], t: string) =>
    j.status?.conditions?.some((c) => c.type === t && c.status === 'True') ?? false;
  return list.items.map((j) => ({
    name: j.metadata.name,
    rendition: j.metadata.labels?.[LABELS.rendition],
    active: j.status?.active ?? 0,
    complete: cond(j, 'Complete'),
    failed: cond(j, 'Failed'),
  }));
}

/** The transcoder Pods of a Video; `rendition` narrows to one rung's. */
export function videoPods(videoName: string, rendition?: string): Promise<PodInfo[]> {
  return pods(`${LABELS.video}=${videoName}${rendition ? `,${LABELS.rendition}=${rendition}` : ''}`);
}

/** Waits until a rung's transcoder Pod runs (mid-encode); resolves with it. */
export function waitForEncoding(
  videoName: string,
  rendition: string,
  timeoutMs = SETTLE_TIMEOUT_MS,
): Promise<PodInfo> {
  return waitFor(
    async () => {
      const ps = await videoPods(videoName, rendition);
      const running = ps.find((x) => x.phase === 'Running' && !x.deleting);
      if (running) return running;
      if (ps.some((x) => x.phase === 'Succeeded')) {
        throw new GiveUp(`the ${rendition} encode of ${videoName} finished before it was seen running`);
      }
      throw new Error(`${rendition} pods: ${JSON.stringify(ps.map((x) => [x.name, x.phase]))}`);
    },
    { timeoutMs, intervalMs: 250, what: `the ${rendition} transcoder Pod of ${videoName} running` },
  );
}

/** Fetches the master playlist, each variant playlist and its first segment through the API: all 200. */
export async function playable(p: Platform, id: number, session: Session): Promise<string[]> {
  const problems: string[] = [];
  const masterUrl = new URL(`/api/video/${id}/master.m3u8`, p.api);
  const master = await p.get(masterUrl.pathname, session);
  if (master.status !== 200) return [`master.m3u8 ${master.status}`];
  const uris = (t: string) => t.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  for (const variant of uris(await master.text())) {
    const vu = new URL(variant, masterUrl);
    const pl = await p.get(vu.pathname, session);
    if (pl.status !== 200) {
      problems.push(`${vu.pathname} ${pl.status}`);
      continue;
    }
    const first = uris(await pl.text())[0];
    if (!first) {
      problems.push(`${vu.pathname} lists no segment`);
      continue;
    }
    const su = new URL(first, vu); // the API's segment route, or a presigned S3 URL (offload: keep its query)
    const seg = await p.get(su.pathname + su.search, session, 30_000);
    await seg.arrayBuffer();
    if (seg.status !== 200) problems.push(`${first} ${seg.status}`);
  }
  return problems;
}

// ---- the broker ------------------------------------------------------------------------------------------------
/**
 * Runs `fn` on a confirm channel of the in-cluster RabbitMQ, reached through a port-forward to its Service,
 * as the user `component` (api or operator) connects with (AMQP_URL with $(AMQP_PASSWORD) from its Secret), or
 * as the bundled broker's administrator ('admin': RABBITMQ_DEFAULT_USER/PASS of its StatefulSet), for queues no
 * component may declare (each component's user is limited to its own exchanges and queues).
 */
export async function withBroker<T>(
  component: 'api' | 'operator' | 'admin',
  fn: (ch: amqp.ConfirmChannel) => Promise<T>,
): Promise<T> {
  const from = component === 'admin' ? 'operator' : component;
  const url = new URL((await componentEnv(from, 'AMQP_URL')).replace('$(AMQP_PASSWORD)', 'x'));
  if (component === 'admin') url.username = await componentEnv('rabbitmq', 'RABBITMQ_DEFAULT_USER');
  const password = await componentEnv(
    component === 'admin' ? 'rabbitmq' : component,
    component === 'admin' ? 'RABBITMQ_DEFAULT_PASS' : 'AMQP_PASSWORD',
  );
  const fwd = await portForward(url.hostname.split('.')[0]!, Number(url.port || 5672));
  try {
    const conn = await amqp.connect(
      `amqp://${url.username}:${encodeURIComponent(password)}@127.0.0.1:${fwd.port}`,
      { timeout: 15_000 },
    );
    conn.on('error', () => undefined);
    try {
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => undefined);
      return await fn(ch);
    } finally {
      await conn.close().catch(() => undefined);
    }
  } finally {
    await fwd.stop();
  }
}

// ---- pending scenarios --------------------------------------------------------------------------------------------
/**
 * Scenarios that fail because a product fix has not landed yet (id → the failure they show). They are left
 * out of the default run, not skipped: FAULTS_PENDING=1 runs them, and the end of the tier lists them.
 */
export const PENDING: Record<string, string> = {};
export const RUN_PENDING = process.env.FAULTS_PENDING === '1';

/** `it` for a scenario whose title starts with its id ("6a ..."); a pending one runs only with FAULTS_PENDING=1. */
export function faultIt(title: string, fn: (this: Mocha.Context) => Promise<void>): void {
  const id = title.split(' ')[0]!;
  if (PENDING[id] && !RUN_PENDING) return;
  it(title, fn);
}
