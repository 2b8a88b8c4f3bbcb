/**
 * The platform `make dev` (hack/dev.sh up) runs on a kind cluster, as the end-to-end tests reach it: the one
 * shared version of what catalog.test.ts and the browser test each carried on their own.
 *
 * - readEndpoints(): .dev/endpoints.env (API_URL, KUBECONFIG, ADMIN_EMAIL, ...), undefined when missing.
 * - ensurePlatform(): those endpoints, after bringing the platform up with `hack/dev.sh up` when the file is
 *   missing or its API does not answer (waits for a `hack/dev.sh up` already running in this checkout
 *   instead of starting a second one).
 * - kubectl() / kubectlAsync() / platformConfig(): against the platform's kubeconfig (not the test tiers'
 *   cluster of cluster-hooks.ts, which may be another kind cluster).
 * - operatorSettings(): the namespace's operator Deployment as the chart rendered it (S3 endpoint, buckets,
 *   the storage Secret, the Lease name), read from the cluster rather than assumed.
 * - openS3(): a minio client reaching the in-cluster S3 server through `kubectl port-forward` to its
 *   Service on a free loopback port, with the credentials from the chart's Secret; stop() ends the
 *   port-forward (call it in after()).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import * as Minio from 'minio';
import { waitFor } from './waiters.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** hack/dev.sh's DEV_DIR (a second platform on its own cluster keeps its own endpoints.env), else .dev. */
export const DEV_DIR = process.env.DEV_DIR ? path.resolve(process.env.DEV_DIR) : path.join(ROOT, '.dev');
export const ENDPOINTS_FILE = path.join(DEV_DIR, 'endpoints.env');
/** The platform's namespace (hack/dev.sh's DEV_NAMESPACE). */
export const NS = process.env.DEV_NAMESPACE ?? 'videoflix';
const BIN = path.join(ROOT, 'bin');
const toolEnv = () => ({ ...process.env, PATH: `${BIN}:${process.env.PATH ?? ''}` });

export type Endpoints = Record<
  | 'API_URL'
  | 'ADMIN_URL'
  | 'MAIL_UI_URL'
  | 'MAIL_API_URL'
  | 'MAIL_USER'
  | 'MAIL_PASSWORD'
  | 'KUBECONFIG'
  | 'ADMIN_EMAIL'
  | 'ADMIN_PASSWORD'
  | 'SAMPLE_VIDEO',
  string
>;

/** .dev/endpoints.env as written by hack/dev.sh, or undefined when there is none. */
export function readEndpoints(): Endpoints | undefined {
  if (!existsSync(ENDPOINTS_FILE)) return undefined;
  return Object.fromEntries(
    readFileSync(ENDPOINTS_FILE, 'utf8')
      .split('\n')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  ) as Endpoints;
}

/** True when `url` answers 200 within 5 s. */
export async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5000) })).status === 200;
  } catch {
    return false;
  }
}

/** Pids of `hack/dev.sh up` processes running in this checkout (another engineer's, or an earlier run's). */
function runningDevUps(): number[] {
  const pids: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids; // no procfs: nothing to wait for
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      const i = cmd.findIndex((a) => a.endsWith('hack/dev.sh'));
      if (i < 0 || cmd[i + 1] !== 'up') continue;
      if (readlinkSync(`/proc/${e}/cwd`) === ROOT || cmd[i]!.startsWith(ROOT)) pids.push(Number(e));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** Runs `hack/dev.sh up` (progress on stderr); rejects when it fails. */
export function devUp(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, 'hack/dev.sh'), ['up'], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`hack/dev.sh up exited ${code}`))));
  });
}

/**
 * The platform's endpoints; brings it up first when .dev/endpoints.env is missing or its API does not answer.
 * A `hack/dev.sh up` already running in this checkout is waited for (up to `timeoutMs`), not duplicated.
 */
export async function ensurePlatform(opts: { timeoutMs?: number } = {}): Promise<Endpoints> {
  const timeoutMs = opts.timeoutMs ?? 60 * 60_000;
  const usable = async () => {
    const e = readEndpoints();
    return e && (await answers(`${e.API_URL.replace(/\/+$/, '')}/readyz`)) ? e : undefined;
  };
  let e = await usable();
  if (e) return e;
  if (runningDevUps().length > 0) {
    process.stderr.write(`[platform] hack/dev.sh up is already running here: waiting for it\n`);
    await waitFor(() => runningDevUps().length === 0, {
      timeoutMs,
      intervalMs: 5000,
      what: 'the running hack/dev.sh up to finish',
    });
    e = await usable();
    if (e) return e;
  }
  process.stderr.write(
    `[platform] ${readEndpoints() ? `the platform in ${ENDPOINTS_FILE} does not answer` : `no ${ENDPOINTS_FILE}`}: running hack/dev.sh up\n`,
  );
  await devUp();
  e = await usable();
  if (!e)
    throw new Error(`hack/dev.sh up finished, but ${ENDPOINTS_FILE} is missing or its API does not answer`);
  return e;
}

/**
 * The platform's kubeconfig; before any platform exists (a spec that installs a release of its own, such as
 * the upgrade from the previous release, which runs first) the cluster's, which cluster-hooks.ts puts in
 * KUBECONFIG.
 */
function kubeconfigPath(): string {
  const k = readEndpoints()?.KUBECONFIG ?? process.env.KUBECONFIG;
  if (!k)
    throw new Error(`no KUBECONFIG in ${ENDPOINTS_FILE} nor in the environment: call ensurePlatform() first`);
  return k;
}

/** kubectl (./bin first) against the platform's cluster; returns stdout, throws with stderr on failure. */
export function kubectl(args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync('kubectl', ['--kubeconfig', kubeconfigPath(), ...args], {
    encoding: 'utf8',
    input: opts.input,
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
    env: toolEnv(),
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** kubectl without blocking the event loop (for waits that run side by side). */
export function kubectlAsync(
  args: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'kubectl',
      ['--kubeconfig', kubeconfigPath(), ...args],
      { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: toolEnv() },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`kubectl ${args.join(' ')} failed (${String(err.code)}): ${stderr.trim()}`));
        else resolve(stdout);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** kubectl ... -o json, parsed. */
export async function kubectlJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectlAsync([...args, '-o', 'json'])) as T;
}

/** A client-node KubeConfig for the platform's cluster. */
export function platformConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

export interface OperatorSettings {
  deployment: string;
  /** S3 as the Pods reach it (http://<service>:<port>). */
  s3Endpoint: string;
  region: string;
  sourceBucket: string;
  mediaBucket: string;
  storageSecret: { name: string; accessKeyKey: string; secretKeyKey: string };
  leaseName: string;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

/** The operator Deployment of the namespace (component=operator), as the chart rendered it. */
export async function operatorSettings(ns = NS): Promise<OperatorSettings> {
  const list = await kubectlJson<{
    items: Array<{
      metadata: { name: string };
      spec: { template: { spec: { containers: Array<{ name: string; env?: EnvVar[] }> } } };
    }>;
  }>(['get', 'deployments', '-n', ns, '-l', 'app.kubernetes.io/component=operator']);
  const d = list.items[0];
  if (!d) throw new Error(`no operator Deployment (app.kubernetes.io/component=operator) in namespace ${ns}`);
  const env = d.spec.template.spec.containers.flatMap((c) => c.env ?? []);
  const value = (name: string, fallback?: string) => {
    const v = env.find((e) => e.name === name)?.value ?? fallback;
    if (v === undefined) throw new Error(`the operator Deployment ${d.metadata.name} sets no ${name}`);
    return v;
  };
  const ref = (name: string) => {
    const r = env.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
    if (!r) throw new Error(`the operator Deployment ${d.metadata.name} takes ${name} from no Secret`);
    return r;
  };
  const access = ref('S3_ACCESS_KEY');
  const secret = ref('S3_SECRET_KEY');
  if (access.name !== secret.name) throw new Error(`S3 keys in two Secrets (${access.name}, ${secret.name})`);
  return {
    deployment: d.metadata.name,
    s3Endpoint: value('S3_ENDPOINT'),
    region: value('S3_REGION', 'us-east-1'),
    sourceBucket: value('S3_SOURCE_BUCKET'),
    mediaBucket: value('S3_MEDIA_BUCKET'),
    storageSecret: { name: access.name, accessKeyKey: access.key, secretKeyKey: secret.key },
    leaseName: value('LEASE_NAME', 'videoflix-operator'),
  };
}

/** The Secret keys of the bundled versitygw's root account (ROOT_ACCESS_KEY / ROOT_SECRET_KEY), if it runs. */
async function bundledS3Root(
  ns: string,
): Promise<{ access: { name: string; key: string }; secret: { name: string; key: string } } | undefined> {
  const list = await kubectlJson<{
    items: Array<{ spec: { template: { spec: { containers: Array<{ env?: EnvVar[] }> } } } }>;
  }>(['get', 'deployments,statefulsets', '-n', ns, '-l', 'app.kubernetes.io/component=versitygw']);
  const env = list.items[0]?.spec.template.spec.containers.flatMap((c) => c.env ?? []) ?? [];
  const access = env.find((e) => e.name === 'ROOT_ACCESS_KEY')?.valueFrom?.secretKeyRef;
  const secret = env.find((e) => e.name === 'ROOT_SECRET_KEY')?.valueFrom?.secretKeyRef;
  return access && secret ? { access, secret } : undefined;
}

/** One key of a Secret, decoded. */
export async function secretValue(name: string, key: string, ns = NS): Promise<string> {
  const s = await kubectlJson<{ data?: Record<string, string> }>(['get', 'secret', name, '-n', ns]);
  const v = s.data?.[key];
  if (v === undefined) throw new Error(`Secret ${ns}/${name} has no key ${key}`);
  return Buffer.from(v, 'base64').toString('utf8');
}

export interface PortForward {
  /** The loopback port the Service's port is reachable on. */
  port: number;
  stop(): Promise<void>;
}

/**
 * `kubectl port-forward svc/<service> :<port>` on 127.0.0.1: kubectl picks a free local port and prints it,
 * so two runs never race for one. A `service` with a slash (`pod/<name>`) is forwarded as it is. Rejects when it does not forward within `timeoutMs`.
 */
export function portForward(
  service: string,
  port: number,
  ns = NS,
  timeoutMs = 30_000,
): Promise<PortForward> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      'kubectl',
      [
        '--kubeconfig',
        kubeconfigPath(),
        'port-forward',
        '-n',
        ns,
        '--address',
        '127.0.0.1',
        service.includes('/') ? service : `svc/${service}`,
        `:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: toolEnv() },
    );
    let out = '';
    let err = '';
    let done = false;
    const stop = () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null || child.signalCode !== null) return res();
        child.once('exit', () => res());
        child.kill('SIGTERM');
      });
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      void stop();
      reject(
        new Error(`kubectl port-forward svc/${service} did not forward in ${timeoutMs} ms: ${err.trim()}`),
      );
    }, timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        resolve({ port: Number(m[1]), stop });
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`kubectl port-forward svc/${service} exited ${code}: ${err.trim()}`));
    });
  });
}

export interface S3Access {
  client: Minio.Client;
  /** http://127.0.0.1:<port> */
  endpoint: string;
  sourceBucket: string;
  mediaBucket: string;
  /** Keys of every object under `prefix` (recursive). */
  list(bucket: string, prefix: string): Promise<string[]>;
  /** An object's bytes. */
  get(bucket: string, key: string): Promise<Buffer>;
  stop(): Promise<void>;
}

/**
 * A minio client for the platform's in-cluster S3 server (the Service in the operator's S3_ENDPOINT), through
 * a port-forward, with the bundled server's root credentials (the chart's shared s3 Secret), else the
 * operator's. Call stop() in after().
 */
export async function openS3(ns = NS): Promise<S3Access> {
  const settings = await operatorSettings(ns);
  const url = new URL(settings.s3Endpoint);
  const service = url.hostname.split('.')[0]!;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  // The bundled S3 server's root account (the operator's own identity may not write sources: componentCredentials),
  // else (an external store) the operator's credentials.
  const root = await bundledS3Root(ns);
  const creds = root ?? {
    access: { name: settings.storageSecret.name, key: settings.storageSecret.accessKeyKey },
    secret: { name: settings.storageSecret.name, key: settings.storageSecret.secretKeyKey },
  };
  const [accessKey, secretKey] = await Promise.all([
    secretValue(creds.access.name, creds.access.key, ns),
    secretValue(creds.secret.name, creds.secret.key, ns),
  ]);
  const pf = await portForward(service, port, ns);
  const client = new Minio.Client({
    endPoint: '127.0.0.1',
    port: pf.port,
    useSSL: false,
    accessKey,
    secretKey,
    region: settings.region,
    pathStyle: true,
  });
  const list = async (bucket: string, prefix: string) => {
    const keys: string[] = [];
    for await (const o of client.listObjectsV2(bucket, prefix, true) as AsyncIterable<{ name?: string }>) {
      if (o.name) keys.push(o.name);
    }
    return keys;
  };
  const get = async (bucket: string, key: string) => {
    const chunks: Buffer[] = [];
    for await (const c of await client.getObject(bucket, key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  // the forward answers before anything else is trusted
  await waitFor(() => client.bucketExists(settings.mediaBucket), {
    timeoutMs: 30_000,
    intervalMs: 500,
    what: `bucket ${settings.mediaBucket} through the port-forward to svc/${service}`,
  });
  return {
    client,
    endpoint: `http://127.0.0.1:${pf.port}`,
    sourceBucket: settings.sourceBucket,
    mediaBucket: settings.mediaBucket,
    list,
    get,
    stop: pf.stop,
  };
}
