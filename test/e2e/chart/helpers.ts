/**
 * Helpers of the chart's end-to-end tests: helm and kubectl as the project pins them (./bin), against
 * the kind cluster's kubeconfig (.cache/cluster/kubeconfig unless KUBECONFIG says otherwise).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHART = path.join(ROOT, 'charts/videoflix');
export const CI_VALUES = readdirSync(path.join(CHART, 'ci'))
  .filter((f) => f.endsWith('-values.yaml'))
  .sort()
  .map((f) => path.join(CHART, 'ci', f));

/**
 * The settings a production install must give (the chart has no development default for them): the API's
 * and the frontend's URLs and an SMTP server. ci/default-values.yaml holds the same.
 */
export const REQUIRED_SETTINGS = [
  '--set',
  'api.publicUrl=https://videoflix.example.com',
  '--set',
  'api.frontendUrl=https://app.videoflix.example.com',
  '--set',
  'smtp.host=smtp.example.com',
];

/**
 * Every credential the chart would otherwise generate (the one list: the offline values below, the
 * refusal test of defaults.test.ts and the chart README's "Generated secrets" are checked against it),
 * with the number of random chunks of its test value.
 */
export const GENERATED_CREDENTIALS: ReadonlyArray<readonly [string, number]> = [
  ['jwt.secret', 5],
  ['s3.accessKey', 2],
  ['s3.secretKey', 4],
  ['postgresql.auth.password', 3],
  ['rabbitmq.auth.password', 3],
  ['rabbitmq.auth.erlangCookie', 4],
  ['maildev.auth.password', 3],
  ...(['api', 'operator', 'transcoder'] as const).flatMap((c) => [
    [`componentCredentials.s3.${c}.accessKey`, 2] as const,
    [`componentCredentials.s3.${c}.secretKey`, 4] as const,
  ]),
  ['componentCredentials.rabbitmq.api.password', 3],
  ['componentCredentials.rabbitmq.operator.password', 3],
  ['componentCredentials.rabbitmq.transcoder.password', 3],
];

/**
 * Values for GENERATED_CREDENTIALS, for renders without a cluster (`helm template`, `helm lint`): there
 * the chart cannot read the Secret that keeps a generated value, so it refuses to render rather than
 * rotate it on every render. Random per test run, fixed within it.
 */
const offline = (n: number) => Array.from({ length: n }, () => Math.random().toString(36).slice(2)).join('');
export const OFFLINE_SECRETS = GENERATED_CREDENTIALS.flatMap(([k, n]) => ['--set', `${k}=${offline(n)}`]);

/** The arguments of an offline render: a ci/ values file (or the defaults with REQUIRED_SETTINGS), and OFFLINE_SECRETS. */
export function offlineValues(file: string | undefined): string[] {
  return [...(file ? ['-f', file] : REQUIRED_SETTINGS), ...OFFLINE_SECRETS];
}

const BIN = path.join(ROOT, 'bin');
export const KUBECONFIG = process.env.KUBECONFIG ?? path.join(ROOT, '.cache/cluster/kubeconfig');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (no shell); resolves with its exit code and output, never rejects on exit codes. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const file = existsSync(path.join(BIN, cmd)) ? path.join(BIN, cmd) : cmd;
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        cwd: ROOT,
        env: { ...process.env, KUBECONFIG, PATH: `${BIN}:${process.env.PATH ?? ''}` },
        maxBuffer: 64 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 600_000,
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run, but throws with the command's output when it exits non-zero. */
export async function ok(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} exited ${r.code}\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`,
    );
  }
  return r.stdout;
}

export const helm = (args: string[], opts?: { input?: string; timeoutMs?: number }) => ok('helm', args, opts);
export const kubectl = (args: string[], opts?: { input?: string; timeoutMs?: number }) =>
  ok('kubectl', args, opts);

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  automountServiceAccountToken?: boolean;
}

/** `helm template vf <chart> --namespace media <args>`, parsed; throws with helm's message when it fails. */
export async function renderChart(args: string[]): Promise<K8sObject[]> {
  const r = await run('helm', ['template', 'vf', CHART, '--namespace', 'media', ...args]);
  if (r.code !== 0) throw new Error(`helm template failed (${r.code}): ${r.stderr}`);
  return parseManifests(r.stdout);
}

/** The documents of a multi-document YAML stream (empty ones dropped). */
export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((o): o is K8sObject => !!o && typeof o === 'object' && 'kind' in o);
}

/** The Pod template (or Pod spec) of a workload object, if it has one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function podSpecOf(o: K8sObject): any | undefined {
  if (o.kind === 'Pod') return o.spec;
  if (['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(o.kind)) return o.spec?.template?.spec;
  return undefined;
}

/** A DNS-1123 name with a random suffix. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Polls fn until it returns a truthy value or the deadline passes; the error says what it last saw. */
export async function waitUntil<T>(
  fn: () => Promise<T | false | undefined | null>,
  what: string,
  timeoutMs = 300_000,
  intervalMs = 2_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err instanceof Error ? err.message : err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${String(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
