/**
 * The host test tier: real processes on loopback, started from the pinned tools in ./bin and the
 * Debian packages (PostgreSQL 15, RabbitMQ, epmd, openssl):
 *
 *   etcd → kube-apiserver (RBAC, client certs, signed service-account tokens) → CRDs of crds/
 *   → kube-controller-manager (job, garbagecollector, namespace, serviceaccount,
 *   serviceaccount-token, ttl-after-finished); versitygw (S3, posix backend); PostgreSQL 15 (own
 *   data dir, port and socket dir, run as the `postgres` OS user); epmd + RabbitMQ (loopback
 *   only); maildev (SMTP capture + REST API).
 *
 * Every port is chosen free at start; every process runs in its own process group, logs to
 * <root>/logs/<name>.log and keeps its data under <root>/data. `startHostEnv()` starts them in
 * parallel where the dependencies allow, `HostEnv.stop()` stops them by pid (the service's stop
 * signal, then SIGKILL to the whole group after a timeout) and checks that no member is left.
 * The state (pids, launch specs, env) is kept in <root>/state.json so another process (the CLI,
 * the mocha hooks, a guard) can reuse or stop the environment.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import YAML from 'yaml';
import { GiveUp, pollUntil, waitFor } from './waiters.js';

const execFileP = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN_DIR = path.join(REPO_ROOT, 'bin');
/** The environment that `make env-up` / the CLI manage. */
export const DEFAULT_ROOT = path.join(REPO_ROOT, '.cache/hostenv');
export const CLI_PATH = path.join(REPO_ROOT, 'test/support/hostenv-cli.ts');
const PG_BIN = '/usr/lib/postgresql/15/bin';
/** An initdb result reused by every environment (outside the work tree, like the tools). */
const PG_TEMPLATE = path.join(os.homedir(), '.cache/videoflix/hostenv/postgres-15-C.UTF-8-template');
const RABBIT_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const EPMD = '/usr/bin/epmd';
const S3_REGION = 'us-east-1';
const KCM_CONTROLLERS = [
  'job-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'ttl-after-finished-controller',
  'root-ca-certificate-publisher-controller',
];

/** The variables the environment exposes to tests and to the programs under test. */
export interface HostEnvVars {
  KUBECONFIG: string;
  DATABASE_URL: string;
  S3_ENDPOINT: string;
  S3_REGION: string;
  S3_ACCESS_KEY: string;
  S3_SECRET_KEY: string;
  AMQP_URL: string;
  SMTP_HOST: string;
  SMTP_PORT: string;
  /** Base of maildev's REST API: `${MAIL_API_URL}/email` lists the captured mail. */
  MAIL_API_URL: string;
  /** Path of state.json, so helpers in any process can find the environment. */
  HOSTENV_STATE: string;
}

/** How a process is launched; kept in state.json so any process can restart it the same way. */
export interface ProcSpec {
  name: string;
  cmd: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid?: number;
  gid?: number;
  log: string;
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
}

export interface ProcRecord {
  spec: ProcSpec;
  pid: number;
  /** /proc/<pid>/stat start time, to tell our process from a reused pid. */
  startTicks: number;
}

export interface HostEnvState {
  version: 1;
  root: string;
  /** pid of the process that started it. */
  startedBy: number;
  startedAt: string;
  startupMs: number;
  /** ms from start until each component was ready. */
  timings: Record<string, number>;
  ports: Record<string, number>;
  env: HostEnvVars;
  /** Superuser URL of the private PostgreSQL (for creating databases in tests). */
  databaseAdminUrl: string;
  apiserverUrl: string;
  processes: Record<string, ProcRecord>;
  /** pid of the guard that stops the environment when its starter dies (private envs). */
  guardPid?: number;
  /** False while starting (state.json is written after every launch, so `down` can clean up). */
  ready: boolean;
  /** True once the variables and the files they name (the kubeconfig) exist. */
  planned?: boolean;
}

export interface StartOptions {
  /** Directory for state, data and logs (default .cache/hostenv). Wiped (except logs) at start. */
  root?: string;
  /** Directories whose *.yaml CRDs are applied before the controller manager starts (default crds/). */
  crdDirs?: string[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /**
   * Start a guard that stops the environment when this pid dies (a crash or SIGKILL of the test
   * runner, Ctrl-C during start-up). Default: none (the CLI's environment outlives it on purpose).
   */
  guardParent?: number;
  /**
   * Called once ports, credentials and variables are chosen, before any process is launched:
   * the variables can be published while the processes boot (see integration-hooks.ts).
   */
  onPlanned?: (env: HostEnv) => void;
  /** Start only these parts (default all; HOSTENV_COMPONENTS=kube,s3,... does the same). */
  components?: Component[];
}

export const COMPONENTS = ['kube', 's3', 'postgres', 'rabbitmq', 'mail'] as const;
export type Component = (typeof COMPONENTS)[number];

// ---------------------------------------------------------------- processes

const children = new Map<number, ChildProcess>();

function procStat(pid: number): { state: string; pgrp: number; startTicks: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] = state (field 3), fields[2] = pgrp (field 5), fields[19] = starttime (field 22)
    return { state: fields[0] ?? '?', pgrp: Number(fields[2]), startTicks: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

/** True when the pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** True when the record's process is still the one we started (pid not reused) and alive. */
export function isRunning(rec: ProcRecord): boolean {
  const st = procStat(rec.pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X' && st.startTicks === rec.startTicks;
}

/** Live (non-zombie) members of a process group. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = procStat(Number(entry));
    if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') out.push(Number(entry));
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function tail(file: string, lines = 25): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function launch(spec: ProcSpec): ProcRecord {
  try {
    fs.accessSync(spec.cmd, fs.constants.X_OK);
  } catch {
    throw new Error(
      `${spec.name}: ${spec.cmd} is missing; run \`make deps tools\` (hack/deps.sh host && hack/tools.sh host)`,
    );
  }
  fs.mkdirSync(path.dirname(spec.log), { recursive: true });
  const fd = fs.openSync(spec.log, 'a');
  let child: ChildProcess;
  try {
    fs.writeSync(fd, `\n==== ${new Date().toISOString()} ${spec.cmd} ${spec.args.join(' ')}\n`);
    child = spawn(spec.cmd, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      uid: spec.uid,
      gid: spec.gid,
      detached: true, // setsid(): its own session and process group (pgid = pid)
      stdio: ['ignore', fd, fd],
    });
  } finally {
    fs.closeSync(fd);
  }
  child.on('error', () => undefined);
  if (child.pid === undefined) throw new Error(`${spec.name}: spawn of ${spec.cmd} failed`);
  const pid = child.pid;
  children.set(pid, child);
  child.on('exit', () => children.delete(pid));
  child.unref();
  const st = procStat(pid);
  return { spec, pid, startTicks: st?.startTicks ?? -1 };
}

/** The process and all its descendants (postgres backends and erl_child_setup start their own sessions). */
export function processTree(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop() as number;
    if (!isAlive(pid)) continue;
    out.push(pid);
    todo.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/**
 * Stops a process: its stop signal to the pid, SIGKILL after stopTimeoutMs; then waits for every
 * process of its tree and group (taken before the signal) to be gone, SIGKILLing stragglers.
 * Resolves with how it ended; rejects if anything survives SIGKILL.
 */
export async function stopProcess(rec: ProcRecord): Promise<'graceful' | 'killed' | 'gone'> {
  const pgid = rec.pid;
  const tracked = new Map<number, number>();
  const running = isRunning(rec);
  for (const pid of [...(running ? processTree(rec.pid) : []), ...groupMembers(pgid).flatMap(processTree)]) {
    const st = procStat(pid);
    if (st) tracked.set(pid, st.startTicks);
  }
  const alive = () =>
    [...tracked].filter(([pid, ticks]) => {
      const st = procStat(pid);
      return st !== undefined && st.state !== 'Z' && st.state !== 'X' && st.startTicks === ticks;
    });
  let how: 'graceful' | 'killed' | 'gone' = 'gone';
  if (running) {
    signal(rec.pid, rec.spec.stopSignal);
    how = (await pollUntil(() => !isAlive(rec.pid), rec.spec.stopTimeoutMs)) ? 'graceful' : 'killed';
  }
  // Helpers (postgres backends, erl_child_setup, ...) get a moment to follow their parent.
  if (alive().length > 0 && !(await pollUntil(() => alive().length === 0, 3000))) {
    how = 'killed';
    signal(-pgid, 'SIGKILL');
    for (const [pid] of alive()) signal(pid, 'SIGKILL');
    if (!(await pollUntil(() => alive().length === 0, 5000))) {
      throw new Error(
        `${rec.spec.name}: processes survived SIGKILL: ${alive()
          .map(([pid]) => pid)
          .join(' ')}`,
      );
    }
  }
  return how;
}

/**
 * Processes (other than this one and its ancestors) working in, or naming, the data or pki
 * directory of the environment in `root`: every process of an environment does one or the other.
 * Only those two directories: other environments may live below `root` (`runs/` under the
 * default root) and must not be touched.
 */
export function straysOf(root: string): number[] {
  const mine = new Set<number>();
  for (let pid = process.pid; pid > 1;) {
    mine.add(pid);
    const st = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    pid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
  }
  const dirs = [path.join(root, 'data'), path.join(root, 'pki')];
  const inside = (p: string) => dirs.some((d) => p === d || p.startsWith(`${d}/`));
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || mine.has(Number(entry)) || !isAlive(Number(entry))) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (inside(cwd) || args.some((a) => dirs.some((d) => a.includes(`${d}/`) || a.endsWith(d)))) {
        out.push(Number(entry));
      }
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return out;
}

/** Waits until `check` passes, failing at once with the log tail if the process dies. */
async function waitReady(
  rec: ProcRecord,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  await waitFor(
    async () => {
      if (!isRunning(rec)) {
        throw new GiveUp(
          `${rec.spec.name} exited before it was ready (${what}); ${rec.spec.log}:\n${tail(rec.spec.log)}`,
        );
      }
      return await check();
    },
    { timeoutMs, intervalMs: 50, what: `${rec.spec.name}: ${what} (log ${rec.spec.log})` },
  );
}

// ---------------------------------------------------------------- small probes

/** One free loopback port (the kernel's choice; for a process started right after). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * Ports for an environment, below the kernel's ephemeral range (32768+ here) so that no outgoing
 * connection can take one between the choice and the service's bind, and reserved with a lock
 * file per port in /tmp so that environments started at the same time never pick the same one.
 * A reservation names the environment's root; it is released by `HostEnv.stop()` and considered
 * stale once that root has no state.json for a minute.
 */
export const PORT_LOCKS = path.join(os.tmpdir(), 'videoflix-hostenv-ports');
const PORT_RANGE = [20000, 32000] as const;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function lockIsStale(file: string): boolean {
  try {
    const root = fs.readFileSync(file, 'utf8').trim();
    const age = Date.now() - fs.statSync(file).mtimeMs;
    return age > 60_000 && !fs.existsSync(path.join(root, 'state.json'));
  } catch {
    return false;
  }
}

export async function reservePorts(n: number, root: string): Promise<number[]> {
  fs.mkdirSync(PORT_LOCKS, { recursive: true, mode: 0o1777 });
  const ports: number[] = [];
  for (let attempts = 0; ports.length < n; attempts++) {
    if (attempts > 2000) throw new Error(`no free ports in ${PORT_RANGE.join('-')} (${PORT_LOCKS})`);
    const port = PORT_RANGE[0] + crypto.randomInt(PORT_RANGE[1] - PORT_RANGE[0]);
    if (ports.includes(port)) continue;
    const lock = path.join(PORT_LOCKS, String(port));
    if (fs.existsSync(lock) && lockIsStale(lock)) fs.rmSync(lock, { force: true });
    try {
      fs.writeFileSync(lock, `${root}\n`, { flag: 'wx' });
    } catch {
      continue; // reserved by another environment
    }
    if (await canBind(port)) ports.push(port);
    else fs.rmSync(lock, { force: true });
  }
  return ports;
}

/** Releases the reservations of `ports` that this root holds. */
export function releasePorts(ports: number[], root: string): void {
  for (const port of ports) {
    const lock = path.join(PORT_LOCKS, String(port));
    try {
      if (fs.readFileSync(lock, 'utf8').trim() === root) fs.rmSync(lock, { force: true });
    } catch {
      // not reserved (any more)
    }
  }
}

function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    sock.setTimeout(1000);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(false));
  });
}

async function httpAnswers(url: string, okOnly = false): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return okOnly ? res.ok : true;
  } catch {
    return false;
  }
}

function httpsStatus(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** One request to the environment's API server as admin (client certificate from its pki). */
function kubeRequest(
  state: HostEnvState,
  method: string,
  apiPath: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  const pki = path.join(state.root, 'pki');
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${state.apiserverUrl}${apiPath}`,
      {
        method,
        ca: fs.readFileSync(path.join(pki, 'ca.crt')),
        cert: fs.readFileSync(path.join(pki, 'admin.crt')),
        key: fs.readFileSync(path.join(pki, 'admin.key')),
        headers: payload ? { 'content-type': 'application/json' } : {},
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath}: timeout`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function amqpAnswers(url: string): Promise<boolean> {
  try {
    const conn = await amqp.connect(url, { timeout: 2000 });
    conn.on('error', () => undefined);
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

const secret = (bytes = 18) => crypto.randomBytes(bytes).toString('base64url');

function baseEnv(home: string): Record<string, string> {
  return {
    PATH: `${BIN_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: home,
    LANG: 'C.UTF-8',
    TZ: 'UTC',
  };
}

// ---------------------------------------------------------------- PKI and kubeconfig

async function openssl(cwd: string, args: string[]): Promise<void> {
  await execFileP('openssl', args, { cwd });
}

/** CA, apiserver serving cert, admin and controller-manager client certs, SA signing key (EC P-256). */
async function makePki(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '3650',
    '-subj',
    '/CN=videoflix-hostenv-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  const leaf = async (name: string, subj: string, ext: string) => {
    await fsp.writeFile(path.join(dir, `${name}.ext`), ext);
    await openssl(dir, [
      'req',
      '-new',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subj,
    ]);
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${crypto.randomBytes(12).toString('hex')}`,
      '-days',
      '365',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]);
    await Promise.all([fsp.rm(path.join(dir, `${name}.csr`)), fsp.rm(path.join(dir, `${name}.ext`))]);
  };
  const client = 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n';
  await Promise.all([
    leaf(
      'apiserver',
      '/CN=kube-apiserver',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
    ),
    leaf('admin', '/O=system:masters/CN=admin', client),
    leaf('kcm', '/CN=system:kube-controller-manager', client),
    (async () => {
      await openssl(dir, [
        'genpkey',
        '-algorithm',
        'EC',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-out',
        'sa.key',
      ]);
      await openssl(dir, ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
    })(),
  ]);
}

function kubeconfigYaml(server: string, pki: string, user: string): string {
  const b64 = (f: string) => fs.readFileSync(path.join(pki, f)).toString('base64');
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'hostenv', cluster: { server, 'certificate-authority-data': b64('ca.crt') } }],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': b64(`${user}.crt`), 'client-key-data': b64(`${user}.key`) },
      },
    ],
    contexts: [{ name: 'hostenv', context: { cluster: 'hostenv', user, namespace: 'default' } }],
    'current-context': 'hostenv',
  });
}

/**
 * Applies every CRD in the *.yaml files of `dirs` with `kubectl apply --server-side` (a separate
 * process: importing @kubernetes/client-node takes seconds of this process's single thread on a
 * busy machine) and waits until each is Established. Returns the CRD names.
 */
export async function applyCrds(
  kubeconfig: string,
  dirs: string[],
  log: (l: string) => void = () => undefined,
): Promise<string[]> {
  const kubectl = (...args: string[]) =>
    execFileP(path.join(BIN_DIR, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], {
      env: baseEnv(os.tmpdir()),
      maxBuffer: 16 * 1024 * 1024,
    });
  const names: string[] = [];
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    for (const file of fs
      .readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()) {
      const full = path.join(dir, file);
      const crds = YAML.parseAllDocuments(fs.readFileSync(full, 'utf8'))
        .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
        .filter((o) => o?.kind === 'CustomResourceDefinition' && o.metadata?.name)
        .map((o) => o?.metadata?.name as string);
      if (!crds.length) continue;
      try {
        await kubectl(
          'apply',
          '--server-side',
          '--force-conflicts',
          '--field-manager',
          'videoflix-hostenv',
          '-f',
          full,
        );
      } catch (err) {
        throw new Error(`kubectl apply -f ${full}: ${(err as { stderr?: string }).stderr ?? String(err)}`);
      }
      names.push(...crds);
      log(`applied CRD ${crds.join(', ')} from ${path.relative(REPO_ROOT, full)}`);
    }
  }
  if (names.length) {
    await kubectl('wait', '--for=condition=Established', '--timeout=30s', ...names.map((n) => `crd/${n}`));
  }
  return names;
}

// ---------------------------------------------------------------- the environment

export class HostEnv {
  constructor(
    public state: HostEnvState,
    /** True when this process started it (and so should stop it). */
    public readonly owned: boolean,
  ) {}

  get env(): HostEnvVars {
    return this.state.env;
  }

  get root(): string {
    return this.state.root;
  }

  get stateFile(): string {
    return path.join(this.state.root, 'state.json');
  }

  /** Every process is still the one that was started. */
  allRunning(): boolean {
    return Object.values(this.state.processes).every(isRunning);
  }

  /** Copies the variables into process.env (for code under test that reads its config there). */
  applyToProcessEnv(): void {
    Object.assign(process.env, this.state.env);
  }

  save(): void {
    fs.mkdirSync(this.root, { recursive: true });
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state, null, 2));
    fs.renameSync(tmp, this.stateFile);
    const lines = Object.entries(this.state.env).map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'`);
    fs.writeFileSync(
      path.join(this.root, 'env.sh'),
      `# written by test/support/hostenv.ts; source it\n${lines.join('\n')}\n`,
    );
  }

  /**
   * Re-reads the pids from state.json: another HostEnv object (in this or another process) may
   * have restarted a process since this one was made.
   */
  refresh(): void {
    try {
      const disk = JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as HostEnvState;
      if (disk.startedAt === this.state.startedAt && disk.root === this.state.root) {
        this.state.processes = disk.processes;
        this.state.guardPid = disk.guardPid;
      }
    } catch {
      // no state file (yet): keep what we have
    }
  }

  /** Stops one process (see stopProcess); the record stays so it can be started again. */
  async stopProcess(name: string): Promise<void> {
    this.refresh();
    const rec = this.record(name);
    await stopProcess(rec);
  }

  /** Starts a stopped process again with the same spec (same ports, same data) and waits until ready. */
  async startProcess(name: string, timeoutMs = 120_000): Promise<void> {
    this.refresh();
    const rec = this.record(name);
    if (isRunning(rec)) return;
    const fresh = launch(rec.spec);
    this.state.processes[name] = fresh;
    this.save();
    await waitReady(fresh, 'ready after restart', readinessCheck(this.state, name, true), timeoutMs);
  }

  /** Simulates a broker outage: stops RabbitMQ (epmd stays), returns when it is gone. */
  async stopRabbit(): Promise<void> {
    await this.stopProcess('rabbitmq');
  }

  /** Starts RabbitMQ again on the same port with the same data (durable queues survive). */
  async startRabbit(): Promise<void> {
    await this.startProcess('rabbitmq');
  }

  /**
   * Restarts kube-controller-manager, e.g. after a test installs a CRD whose objects own others:
   * the garbage collector only rediscovers resources every 30 s.
   */
  async restartControllerManager(): Promise<void> {
    await this.stopProcess('kube-controller-manager');
    await this.startProcess('kube-controller-manager');
  }

  /** Resident memory (kB) of each process group. */
  memoryKb(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, rec] of Object.entries(this.state.processes)) {
      let kb = 0;
      for (const pid of isRunning(rec) ? processTree(rec.pid) : []) {
        try {
          const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
          kb += m ? Number(m[1]) : 0;
        } catch {
          // exited meanwhile
        }
      }
      out[name] = kb;
    }
    return out;
  }

  /**
   * Stops everything by pid: the guard first, kube-controller-manager, then the apiserver and the
   * services, then etcd and epmd. Removes the data directory and the state file (logs stay).
   */
  async stop(): Promise<void> {
    this.refresh();
    const { guardPid } = this.state;
    if (guardPid && guardPid !== process.pid && isAlive(guardPid)) {
      signal(-guardPid, 'SIGKILL');
      await pollUntil(() => !isAlive(guardPid), 2000);
    }
    const procs = this.state.processes;
    const phases = [
      ['kube-controller-manager'],
      ['kube-apiserver', 'versitygw', 'postgres', 'rabbitmq', 'maildev'],
      ['etcd', 'epmd'],
    ];
    const errors: unknown[] = [];
    for (const phase of phases) {
      const results = await Promise.allSettled(
        phase.filter((n) => procs[n]).map((n) => stopProcess(procs[n] as ProcRecord)),
      );
      for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
    }
    // Safety net: anything still working in or naming this environment's directory.
    const strays = straysOf(this.root);
    if (strays.length) {
      for (const pid of strays) signal(pid, 'SIGKILL');
      await pollUntil(() => strays.every((pid) => !isAlive(pid)), 5000);
      errors.push(new Error(`killed stray processes of ${this.root}: ${strays.join(' ')}`));
    }
    if (errors.length) throw new Error(`hostenv stop: ${errors.map(String).join('; ')}`);
    await fsp.rm(path.join(this.root, 'data'), { recursive: true, force: true });
    await fsp.rm(path.join(this.root, 'pki'), { recursive: true, force: true });
    await fsp.rm(this.state.env.KUBECONFIG, { force: true });
    releasePorts(Object.values(this.state.ports), this.root);
    await fsp.rm(this.stateFile, { force: true });
    await fsp.rm(path.join(this.root, 'env.sh'), { force: true });
  }

  private record(name: string): ProcRecord {
    const rec = this.state.processes[name];
    if (!rec) throw new Error(`hostenv has no process named ${name}`);
    return rec;
  }
}

function readinessCheck(state: HostEnvState, name: string, restart = false): () => Promise<boolean> {
  const p = state.ports;
  switch (name) {
    case 'etcd':
      return () => httpAnswers(`http://127.0.0.1:${p.etcd}/health`, true);
    case 'kube-apiserver': {
      const ca = fs.readFileSync(path.join(state.root, 'pki/ca.crt'));
      return async () => (await httpsStatus(`${state.apiserverUrl}/readyz`, ca)) === 200;
    }
    case 'kube-controller-manager': {
      const api = (method: string, apiPath: string, body?: unknown) =>
        kubeRequest(state, method, apiPath, body);
      if (!restart) {
        // The serviceaccount controller creating `default` in `default` proves the KCM runs.
        return async () =>
          (await api('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200;
      }
      // After a restart that SA exists already: a fresh namespace must get its own.
      const ns = `hostenv-probe-${crypto.randomBytes(4).toString('hex')}`;
      let created = false;
      return async () => {
        if (!created) {
          const res = await api('POST', '/api/v1/namespaces', {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: ns },
          });
          if (res.status !== 201) throw new Error(`creating namespace ${ns}: ${res.status} ${res.body}`);
          created = true;
        }
        const found = (await api('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200;
        if (found) await api('DELETE', `/api/v1/namespaces/${ns}`);
        return found;
      };
    }
    case 'versitygw':
      return () => httpAnswers(`http://127.0.0.1:${p.s3}/`);
    case 'postgres':
      return async () => {
        try {
          await execFileP(`${PG_BIN}/pg_isready`, [
            '-q',
            '-h',
            '127.0.0.1',
            '-p',
            String(p.postgres),
            '-t',
            '2',
          ]);
          return true;
        } catch {
          return false;
        }
      };
    case 'epmd':
      return () => tcpOpen(p.epmd as number);
    case 'rabbitmq':
      return () => amqpAnswers(state.env.AMQP_URL);
    case 'maildev':
      return async () =>
        (await httpAnswers(`http://127.0.0.1:${p.mailWeb}/api/healthz`, true)) &&
        (await tcpOpen(p.smtp as number));
    default:
      throw new Error(`no readiness check for ${name}`);
  }
}

/** Reads <root>/state.json and returns the environment if all its processes still run. */
export function loadHostEnv(root = DEFAULT_ROOT): HostEnv | undefined {
  const file = path.join(root, 'state.json');
  if (!fs.existsSync(file)) return undefined;
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as HostEnvState;
  const env = new HostEnv(state, false);
  return state.ready !== false && env.allRunning() ? env : undefined;
}

/** Reads <root>/state.json whether or not its processes run (for `down` and `status`). */
export function readState(root = DEFAULT_ROOT): HostEnvState | undefined {
  const file = path.join(root, 'state.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as HostEnvState) : undefined;
}

/**
 * Runs initdb as the `postgres` OS user (it refuses root) into <dir>/data: UTF-8, C.UTF-8,
 * local connections trusted (the socket directory is ours), TCP with scram-sha-256. The
 * superuser's password is a placeholder; each environment sets its own after start.
 */
async function initdb(dir: string, uid: number, gid: number, log: string): Promise<void> {
  const pwfile = path.join(dir, 'pwfile');
  await fsp.writeFile(pwfile, `${secret(18)}\n`, { mode: 0o600 });
  await fsp.chown(pwfile, uid, gid);
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(
        `${PG_BIN}/initdb`,
        [
          '-D',
          path.join(dir, 'data'),
          '-U',
          'postgres',
          `--pwfile=${pwfile}`,
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          '-E',
          'UTF8',
          '--locale=C.UTF-8',
          '--no-sync',
          '--no-instructions',
        ],
        { uid, gid, cwd: dir, env: baseEnv(dir) },
        (err, stdout, stderr) => {
          fs.appendFileSync(log, `${stdout}${stderr}`);
          if (err) reject(new Error(`initdb failed: ${stderr || err.message}`));
          else resolve();
        },
      );
    });
  } finally {
    await fsp.rm(pwfile, { force: true });
  }
}

/** Starts the whole host tier. On any failure, stops what it started and rethrows. */
export async function startHostEnv(opts: StartOptions = {}): Promise<HostEnv> {
  const t0 = Date.now();
  const root = path.resolve(opts.root ?? DEFAULT_ROOT);
  const log = opts.log ?? (() => undefined);
  const logs = path.join(root, 'logs');
  const data = path.join(root, 'data');
  const pki = path.join(root, 'pki');
  await fsp.rm(data, { recursive: true, force: true });
  await fsp.rm(pki, { recursive: true, force: true });
  await Promise.all([logs, data, pki].map((d) => fsp.mkdir(d, { recursive: true })));
  // PostgreSQL runs as the `postgres` user: it must be able to reach its directory.
  await Promise.all([root, data].map((d) => fsp.chmod(d, 0o755)));
  const hostenvLog = path.join(logs, 'hostenv.log');
  const note = (line: string) => {
    const l = `${((Date.now() - t0) / 1000).toFixed(2)}s ${line}`;
    fs.appendFileSync(hostenvLog, `${l}\n`);
    log(l);
  };
  note(`starting host environment in ${root}`);

  const names = [
    'etcd',
    'etcdPeer',
    'apiserver',
    's3',
    'postgres',
    'amqp',
    'rabbitDist',
    'epmd',
    'smtp',
    'mailWeb',
  ] as const;
  const list = await reservePorts(names.length, root);
  const ports = Object.fromEntries(names.map((n, i) => [n, list[i] as number])) as Record<
    (typeof names)[number],
    number
  >;
  const s3Access = `hostenv-${secret(6)}`;
  const s3Secret = secret(24);
  const dbPassword = secret(18);
  const adminPassword = secret(18);
  const amqpUser = 'videoflix';
  const amqpPassword = secret(18);
  const apiserverUrl = `https://127.0.0.1:${ports.apiserver}`;
  const env: HostEnvVars = {
    KUBECONFIG: path.join(root, 'admin.kubeconfig'),
    DATABASE_URL: `postgres://videoflix:${dbPassword}@127.0.0.1:${ports.postgres}/videoflix`,
    S3_ENDPOINT: `http://127.0.0.1:${ports.s3}`,
    S3_REGION,
    S3_ACCESS_KEY: s3Access,
    S3_SECRET_KEY: s3Secret,
    AMQP_URL: `amqp://${amqpUser}:${amqpPassword}@127.0.0.1:${ports.amqp}`,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(ports.smtp),
    MAIL_API_URL: `http://127.0.0.1:${ports.mailWeb}/api`,
    HOSTENV_STATE: path.join(root, 'state.json'),
  };
  const state: HostEnvState = {
    version: 1,
    root,
    startedBy: process.pid,
    startedAt: new Date(t0).toISOString(),
    startupMs: 0,
    timings: {},
    ports,
    env,
    databaseAdminUrl: `postgres://postgres:${adminPassword}@127.0.0.1:${ports.postgres}/postgres`,
    apiserverUrl,
    processes: {},
    ready: false,
  };
  const hostEnv = new HostEnv(state, true);
  if (opts.guardParent) spawnGuard(hostEnv, opts.guardParent);
  // "Planned" = every variable and the files they name (the kubeconfig) exist.
  let markPlanned: () => void = () => undefined;
  void new Promise<void>((resolve) => (markPlanned = resolve)).then(() => {
    state.planned = true;
    hostEnv.save();
    opts.onPlanned?.(hostEnv);
  });
  const start = async (
    spec: Omit<ProcSpec, 'log' | 'stopTimeoutMs' | 'stopSignal'> & Partial<ProcSpec>,
    timeoutMs = 120_000,
  ) => {
    const rec = launch({
      log: path.join(logs, `${spec.name}.log`),
      stopSignal: 'SIGTERM',
      stopTimeoutMs: 10_000,
      ...spec,
    });
    state.processes[spec.name] = rec;
    hostEnv.save();
    note(`${spec.name} started, pid ${rec.pid}`);
    await waitReady(rec, 'ready', readinessCheck(state, spec.name), timeoutMs);
    state.timings[spec.name] = Date.now() - t0;
    note(`${spec.name} ready`);
  };

  const kube = async () => {
    const etcdDir = path.join(data, 'etcd');
    const etcdStarted = start({
      name: 'etcd',
      cmd: path.join(BIN_DIR, 'etcd'),
      args: [
        '--name',
        'hostenv',
        '--data-dir',
        etcdDir,
        '--listen-client-urls',
        `http://127.0.0.1:${ports.etcd}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${ports.etcd}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${ports.etcdPeer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${ports.etcdPeer}`,
        '--initial-cluster',
        `hostenv=http://127.0.0.1:${ports.etcdPeer}`,
        '--unsafe-no-fsync',
        '--log-level',
        'warn',
      ],
      env: baseEnv(data),
      cwd: data,
    });
    etcdStarted.catch(() => undefined); // awaited below
    await makePki(pki);
    note('pki generated');
    fs.writeFileSync(env.KUBECONFIG, kubeconfigYaml(apiserverUrl, pki, 'admin'), { mode: 0o600 });
    fs.writeFileSync(path.join(pki, 'kcm.kubeconfig'), kubeconfigYaml(apiserverUrl, pki, 'kcm'), {
      mode: 0o600,
    });
    markPlanned();
    await etcdStarted;
    await start({
      name: 'kube-apiserver',
      cmd: path.join(BIN_DIR, 'kube-apiserver'),
      args: [
        '--etcd-servers',
        `http://127.0.0.1:${ports.etcd}`,
        '--secure-port',
        String(ports.apiserver),
        '--bind-address',
        '127.0.0.1',
        '--advertise-address',
        '127.0.0.1',
        '--tls-cert-file',
        path.join(pki, 'apiserver.crt'),
        '--tls-private-key-file',
        path.join(pki, 'apiserver.key'),
        '--client-ca-file',
        path.join(pki, 'ca.crt'),
        '--authorization-mode',
        'RBAC',
        '--service-account-issuer',
        apiserverUrl,
        '--service-account-key-file',
        path.join(pki, 'sa.pub'),
        '--service-account-signing-key-file',
        path.join(pki, 'sa.key'),
        '--service-cluster-ip-range',
        '10.0.0.0/24',
        '--endpoint-reconciler-type',
        'none',
        '--allow-privileged=true',
        '--cert-dir',
        path.join(pki, 'apiserver-certs'),
        '--profiling=false',
      ],
      env: baseEnv(data),
      cwd: data,
    });
    // CRDs before the controller manager: its garbage collector discovers resources at start
    // and then only every 30 s (see go-tools-recipe.md).
    const crds = await applyCrds(env.KUBECONFIG, opts.crdDirs ?? [path.join(REPO_ROOT, 'crds')], note).catch(
      (err: unknown) => {
        note(`WARNING: applying the CRDs failed, continuing without them: ${String(err)}`);
        return [];
      },
    );
    if (crds.length) state.timings.crds = Date.now() - t0;
    await start({
      name: 'kube-controller-manager',
      cmd: path.join(BIN_DIR, 'kube-controller-manager'),
      args: [
        '--kubeconfig',
        path.join(pki, 'kcm.kubeconfig'),
        '--leader-elect=false',
        '--controllers',
        KCM_CONTROLLERS.join(','),
        '--use-service-account-credentials=true',
        '--service-account-private-key-file',
        path.join(pki, 'sa.key'),
        '--root-ca-file',
        path.join(pki, 'ca.crt'),
        '--secure-port',
        '0',
        '--cert-dir',
        path.join(pki, 'kcm-certs'),
        '--profiling=false',
      ],
      env: baseEnv(data),
      cwd: data,
    });
  };

  const s3 = async () => {
    const dir = path.join(data, 's3');
    await Promise.all([
      fsp.mkdir(dir, { recursive: true }),
      fsp.mkdir(path.join(data, 's3-iam'), { recursive: true }),
    ]);
    await start({
      name: 'versitygw',
      cmd: path.join(BIN_DIR, 'versitygw'),
      // internal IAM (users in iam/users.json): the root account works as before, and tests can create
      // per-component users with the admin API (common/storage/versitygw-admin.ts)
      args: [
        '--port',
        `127.0.0.1:${ports.s3}`,
        '--region',
        S3_REGION,
        '--quiet',
        '--iam-dir',
        path.join(data, 's3-iam'),
        'posix',
        dir,
      ],
      env: { ...baseEnv(data), ROOT_ACCESS_KEY: s3Access, ROOT_SECRET_KEY: s3Secret },
      cwd: data,
    });
  };

  const postgres = async () => {
    // initdb refuses root: the cluster belongs to the `postgres` OS user, in our own directory.
    const dir = path.join(data, 'postgres');
    const uid = Number((await execFileP('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await execFileP('id', ['-g', 'postgres'])).stdout.trim());
    await fsp.mkdir(path.join(dir, 'run'), { recursive: true });
    for (const p of [dir, path.join(dir, 'run')]) await fsp.chown(p, uid, gid);
    const pgData = path.join(dir, 'data');
    if (fs.existsSync(path.join(PG_TEMPLATE, 'PG_VERSION'))) {
      // A cluster made by initdb once, copied (ownership kept): initdb takes seconds on a busy machine.
      await execFileP('cp', ['-a', PG_TEMPLATE, pgData]);
      note('postgres data copied from the initdb template');
    } else {
      await initdb(dir, uid, gid, path.join(logs, 'postgres.log'));
      note('initdb done');
      const tmp = `${PG_TEMPLATE}.${process.pid}.tmp`;
      try {
        await fsp.mkdir(path.dirname(PG_TEMPLATE), { recursive: true });
        await execFileP('cp', ['-a', pgData, tmp]);
        await fsp.rename(tmp, PG_TEMPLATE); // atomic; fails if a concurrent run was first
      } catch {
        await fsp.rm(tmp, { recursive: true, force: true });
      }
    }
    await start({
      name: 'postgres',
      cmd: `${PG_BIN}/postgres`,
      args: [
        '-D',
        path.join(dir, 'data'),
        '-p',
        String(ports.postgres),
        '-k',
        path.join(dir, 'run'),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
        '-c',
        'log_min_messages=warning',
      ],
      env: baseEnv(dir),
      cwd: dir,
      uid,
      gid,
      stopSignal: 'SIGINT', // "fast" shutdown; SIGTERM would wait for every client to disconnect
    });
    const sql = [
      `ALTER ROLE postgres PASSWORD '${adminPassword}'`,
      `CREATE ROLE videoflix LOGIN CREATEDB PASSWORD '${dbPassword}'`,
      'CREATE DATABASE videoflix OWNER videoflix',
    ];
    for (const statement of sql) {
      await execFileP(
        `${PG_BIN}/psql`,
        [
          '-X',
          '-q',
          '-v',
          'ON_ERROR_STOP=1',
          '-h',
          path.join(dir, 'run'),
          '-p',
          String(ports.postgres),
          '-U',
          'postgres',
          '-d',
          'postgres',
          '-c',
          statement,
        ],
        {
          env: baseEnv(dir),
        },
      );
    }
    state.timings.database = Date.now() - t0;
  };

  const rabbit = async () => {
    const dir = path.join(data, 'rabbitmq');
    await fsp.mkdir(dir, { recursive: true });
    await Promise.all([
      fsp.writeFile(path.join(dir, 'enabled_plugins'), '[].\n'),
      fsp.writeFile(path.join(dir, 'rabbitmq-env.conf'), '# private broker: no system settings\n'),
      fsp.writeFile(
        path.join(dir, 'rabbitmq.conf'),
        [
          `default_user = ${amqpUser}`,
          `default_pass = ${amqpPassword}`,
          'loopback_users = none',
          'log.console = true',
          'log.console.level = warning',
          'log.file = false',
          '',
        ].join('\n'),
      ),
    ]);
    const erlEnv = { ...baseEnv(dir), ERL_EPMD_PORT: String(ports.epmd), ERL_EPMD_ADDRESS: '127.0.0.1' };
    // Our own epmd, as a process we own: the one Erlang would spawn daemonizes and outlives the broker.
    await start({
      name: 'epmd',
      cmd: EPMD,
      args: ['-port', String(ports.epmd), '-address', '127.0.0.1'],
      env: erlEnv,
      cwd: dir,
    });
    await start({
      name: 'rabbitmq',
      cmd: RABBIT_SERVER,
      args: [],
      env: {
        ...erlEnv,
        RABBITMQ_NODENAME: `videoflix-${ports.amqp}@localhost`,
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(ports.amqp),
        RABBITMQ_DIST_PORT: String(ports.rabbitDist),
        RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: path.join(dir, 'log'),
        RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
        RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
        RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
        RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false',
      },
      cwd: dir,
      stopTimeoutMs: 20_000,
    });
  };

  const mail = async () => {
    const dir = path.join(data, 'maildev');
    await fsp.mkdir(dir, { recursive: true });
    await start({
      name: 'maildev',
      cmd: path.join(BIN_DIR, 'maildev'),
      args: [
        '--smtp',
        String(ports.smtp),
        '--ip',
        '127.0.0.1',
        '--web',
        String(ports.mailWeb),
        '--web-ip',
        '127.0.0.1',
      ],
      env: baseEnv(dir),
      cwd: dir, // maildev looks for config files in its cwd and parents
    });
  };

  const parts: Record<Component, () => Promise<void>> = { kube, s3, postgres, rabbitmq: rabbit, mail };
  const wanted = opts.components ??
    (process.env.HOSTENV_COMPONENTS?.split(',').map((c) => c.trim()) as Component[] | undefined) ?? [
      ...COMPONENTS,
    ];
  for (const c of wanted)
    if (!COMPONENTS.includes(c))
      throw new Error(`unknown hostenv component ${c}; known: ${COMPONENTS.join(', ')}`);
  if (!wanted.includes('kube')) markPlanned();
  const results = await Promise.allSettled(wanted.map((c) => parts[c]()));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length) {
    note(`start failed: ${failures.map(String).join('\n')}`);
    await hostEnv.stop().catch((err: unknown) => note(`stop after failed start: ${String(err)}`));
    throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
  }
  state.startupMs = Date.now() - t0;
  state.ready = true;
  hostEnv.save();
  note(`host environment ready in ${state.startupMs} ms`);
  return hostEnv;
}

/**
 * A guard that stops the environment if `parentPid` dies without doing so (crash, SIGKILL,
 * Ctrl-C during teardown). Runs in its own process group; `HostEnv.stop()` kills it first.
 */
export function spawnGuard(env: HostEnv, parentPid = process.pid): number {
  const cli = CLI_PATH.replace(/'/g, '');
  const script = `while kill -0 ${parentPid} 2>/dev/null; do sleep 1; done; exec '${process.execPath}' --import=tsx '${cli}' down --root '${env.root}'`;
  const fd = fs.openSync(path.join(env.root, 'logs', 'guard.log'), 'a');
  try {
    const child = spawn('/bin/sh', ['-c', script], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: process.env,
    });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new Error('could not start the hostenv guard');
    env.state.guardPid = child.pid;
    env.save();
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------- the current environment

// Kept on globalThis so that two instances of this module (CJS and ESM loads) share it.
const CURRENT = Symbol.for('videoflix.hostenv.current');
const holder = globalThis as unknown as Record<symbol, HostEnv | undefined>;

export function setCurrentHostEnv(env: HostEnv | undefined): void {
  holder[CURRENT] = env;
}

/** The environment the tests run against: set by the mocha hooks, else found through HOSTENV_STATE. */
export function hostEnv(): HostEnv {
  const current = holder[CURRENT];
  if (current) return current;
  const file = process.env.HOSTENV_STATE;
  if (file && fs.existsSync(file)) {
    const found = new HostEnv(JSON.parse(fs.readFileSync(file, 'utf8')) as HostEnvState, false);
    holder[CURRENT] = found;
    return found;
  }
  throw new Error(
    'no host environment: run the tests with test/.mocharc.integration.json, or `make env-up` and source .cache/hostenv/env.sh',
  );
}

/**
 * True when the tests run against an environment they did not start (`make env-up`, shared by
 * every concurrent run): tests that disrupt it (stopRabbit, restartControllerManager, clearMail)
 * should skip then, e.g. `if (isSharedHostEnv()) this.skip();`.
 */
export function isSharedHostEnv(): boolean {
  return !hostEnv().owned;
}

/** Stops the broker of the current environment (simulated outage). */
export function stopRabbit(): Promise<void> {
  return hostEnv().stopRabbit();
}

/** Starts the broker of the current environment again, same port and data; resolves when it accepts AMQP. */
export function startRabbit(): Promise<void> {
  return hostEnv().startRabbit();
}

/** Restarts kube-controller-manager of the current environment (GC rediscovers new CRDs). */
export function restartControllerManager(): Promise<void> {
  return hostEnv().restartControllerManager();
}
