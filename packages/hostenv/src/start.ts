/**
 * Starts the whole host tier from its recipes, in parallel where the dependencies allow:
 * etcd → kube-apiserver → CRDs → kube-controller-manager; versitygw; PostgreSQL; epmd → RabbitMQ;
 * maildev. The plan (ports, credentials, variables) is made first and published once the files it
 * names exist. On any failure it stops what it started and rethrows.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { applyCrds } from './crds.js';
import { HostEnv } from './env.js';
import { spawnGuard } from './guard.js';
import { DEFAULT_ROOT, REPO_ROOT, secret } from './paths.js';
import { kubeconfigYaml, makePki } from './pki.js';
import { reservePorts } from './ports.js';
import { launch, waitReady } from './process.js';
import * as recipe from './recipes/index.js';
import { COMPONENTS, PORT_NAMES } from './types.js';
import type { Component, HostEnvState, LaunchSpec, Ports, RecipeContext, StartOptions } from './types.js';

/** The plan: every port, credential and variable of an environment in `root`, before any process runs. */
export function planState(root: string, ports: Ports, t0 = Date.now()): HostEnvState {
  const amqp = { user: 'videoflix', password: secret(18) };
  const apiserverUrl = `https://127.0.0.1:${ports.apiserver}`;
  return {
    version: 1,
    root,
    startedBy: process.pid,
    startedAt: new Date(t0).toISOString(),
    startupMs: 0,
    timings: {},
    ports,
    env: {
      KUBECONFIG: path.join(root, 'admin.kubeconfig'),
      DATABASE_URL: `postgres://videoflix:${secret(18)}@127.0.0.1:${ports.postgres}/videoflix`,
      S3_ENDPOINT: `http://127.0.0.1:${ports.s3}`,
      S3_REGION: recipe.S3_REGION,
      S3_ACCESS_KEY: `hostenv-${secret(6)}`,
      S3_SECRET_KEY: secret(24),
      AMQP_URL: `amqp://${amqp.user}:${amqp.password}@127.0.0.1:${ports.amqp}`,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(ports.smtp),
      MAIL_API_URL: `http://127.0.0.1:${ports.mailWeb}/api`,
      HOSTENV_STATE: path.join(root, 'state.json'),
    },
    databaseAdminUrl: `postgres://postgres:${secret(18)}@127.0.0.1:${ports.postgres}/postgres`,
    apiserverUrl,
    processes: {},
    ready: false,
  };
}

/** The components to start: `opts.components`, else HOSTENV_COMPONENTS (comma-separated), else all. */
export function wantedComponents(opts: StartOptions, fromEnv = process.env.HOSTENV_COMPONENTS): Component[] {
  const wanted = opts.components ??
    (fromEnv?.split(',').map((c) => c.trim()) as Component[] | undefined) ?? [...COMPONENTS];
  for (const c of wanted)
    if (!COMPONENTS.includes(c))
      throw new Error(`unknown hostenv component ${c}; known: ${COMPONENTS.join(', ')}`);
  return wanted;
}

export async function startHostEnv(opts: StartOptions = {}): Promise<HostEnv> {
  const t0 = Date.now();
  const root = path.resolve(opts.root ?? DEFAULT_ROOT);
  const wanted = wantedComponents(opts);
  const [logs, data, pki] = ['logs', 'data', 'pki'].map((d) => path.join(root, d)) as [
    string,
    string,
    string,
  ];
  await fsp.rm(data, { recursive: true, force: true });
  await fsp.rm(pki, { recursive: true, force: true });
  await Promise.all([logs, data, pki].map((d) => fsp.mkdir(d, { recursive: true })));
  // PostgreSQL runs as the `postgres` user: it must be able to reach its directory.
  await Promise.all([root, data].map((d) => fsp.chmod(d, 0o755)));
  const note = (line: string) => {
    const l = `${((Date.now() - t0) / 1000).toFixed(2)}s ${line}`;
    fs.appendFileSync(path.join(logs, 'hostenv.log'), `${l}\n`);
    opts.log?.(l);
  };
  note(`starting host environment in ${root}`);
  const list = await reservePorts(PORT_NAMES.length, root);
  const ports = Object.fromEntries(PORT_NAMES.map((n, i) => [n, list[i] as number])) as Ports;
  const state = planState(root, ports, t0);
  const ctx: RecipeContext = { state, ports, data, pki };
  const hostEnv = new HostEnv(state, true);
  if (opts.guardParent) spawnGuard(hostEnv, opts.guardParent);
  // "Planned" = every variable and the files they name (the kubeconfig) exist.
  let markPlanned: () => void = () => undefined;
  void new Promise<void>((resolve) => (markPlanned = resolve)).then(() => {
    state.planned = true;
    hostEnv.save();
    opts.onPlanned?.(hostEnv);
  });
  const start = async (spec: LaunchSpec, timeoutMs = 120_000) => {
    const rec = launch({
      log: path.join(logs, `${spec.name}.log`),
      stopSignal: 'SIGTERM',
      stopTimeoutMs: 10_000,
      ...spec,
    });
    state.processes[spec.name] = rec;
    hostEnv.save();
    note(`${spec.name} started, pid ${rec.pid}`);
    await waitReady(rec, 'ready', recipe.readinessCheck(state, spec.name), timeoutMs);
    state.timings[spec.name] = Date.now() - t0;
    note(`${spec.name} ready`);
  };

  const kube = async () => {
    const etcdStarted = start(recipe.etcdSpec(ctx));
    etcdStarted.catch(() => undefined); // awaited below
    await makePki(pki);
    note('pki generated');
    fs.writeFileSync(state.env.KUBECONFIG, kubeconfigYaml(state.apiserverUrl, pki, 'admin'), { mode: 0o600 });
    fs.writeFileSync(path.join(pki, 'kcm.kubeconfig'), kubeconfigYaml(state.apiserverUrl, pki, 'kcm'), {
      mode: 0o600,
    });
    markPlanned();
    await etcdStarted;
    await start(recipe.apiserverSpec(ctx));
    // CRDs before the controller manager: its garbage collector discovers resources at start
    // and then only every 30 s (see go-tools-recipe.md).
    const crdDirs = opts.crdDirs ?? [path.join(REPO_ROOT, 'crds')];
    const crds = await applyCrds(state.env.KUBECONFIG, crdDirs, note).catch((err: unknown) => {
      note(`WARNING: applying the CRDs failed, continuing without them: ${String(err)}`);
      return [];
    });
    if (crds.length) state.timings.crds = Date.now() - t0;
    await start(recipe.controllerManagerSpec(ctx));
  };
  const s3 = async () => {
    await recipe.prepareVersitygw(ctx);
    await start(recipe.versitygwSpec(ctx));
  };
  const postgres = async () => {
    const user = await recipe.preparePostgres(ctx, path.join(logs, 'postgres.log'), note);
    await start(recipe.postgresSpec(ctx, user));
    await recipe.bootstrapPostgres(ctx);
    state.timings.database = Date.now() - t0;
  };
  const rabbitmq = async () => {
    await recipe.prepareRabbit(ctx);
    await start(recipe.epmdSpec(ctx));
    await start(recipe.rabbitSpec(ctx));
  };
  const mail = async () => {
    await recipe.prepareMaildev(ctx);
    await start(recipe.maildevSpec(ctx));
  };

  const parts: Record<Component, () => Promise<void>> = { kube, s3, postgres, rabbitmq, mail };
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
