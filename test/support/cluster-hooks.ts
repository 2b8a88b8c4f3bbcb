/**
 * Mocha root hooks for the cluster tier (test/.mocharc.cluster.json and .mocharc.e2e.json require this).
 *
 * The kind cluster must already run: `hack/cluster/cluster.sh up` (make cluster; hack/test.sh does it).
 * This module reads its kubeconfig (.cache/cluster/kubeconfig, or $CLUSTER_KUBECONFIG), checks that the
 * API server answers, and sets process.env.KUBECONFIG, DOCKER_HOST for the specs, all at import time, so
 * describe() bodies can use them. It fails with a message that says what to run when the cluster is not up.
 *
 * Host protection is checked, not assumed: `hack/cluster/docker.sh up` records the host's firewall rules
 * and kernel settings in .cache/cluster/host-before.txt before anything of the cluster tier runs; the root
 * afterAll hook compares the host's state after the tests with that record (and with the state at the
 * start of the run) and fails the run when anything differs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const versions = Object.fromEntries(
  fs
    .readFileSync(path.join(ROOT, 'hack/versions.env'), 'utf8')
    .split('\n')
    .map((l) => /^([A-Z0-9_]+)=(.*)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!]),
) as Record<string, string>;

const CLUSTER_NAME = process.env.CLUSTER_NAME ?? 'videoflix';
export const CLUSTER = {
  name: CLUSTER_NAME,
  /** As hack/cluster/env.sh names it: .cache/cluster/kubeconfig, or <name>.kubeconfig for other cluster names. */
  kubeconfig:
    process.env.CLUSTER_KUBECONFIG ??
    process.env.KUBECONFIG_OUT ??
    path.join(
      ROOT,
      '.cache/cluster',
      CLUSTER_NAME === 'videoflix' ? 'kubeconfig' : `${CLUSTER_NAME}.kubeconfig`,
    ),
  // as hack/cluster/env.sh: VF_DOCKER_HOST, else the socket under VF_RUN_DIR (a dockerd of one's own)
  dockerHost:
    process.env.DOCKER_HOST ??
    process.env.VF_DOCKER_HOST ??
    `unix://${process.env.VF_RUN_DIR ?? '/run/videoflix'}/docker.sock`,
  k8sVersion: versions.K8S_VERSION ?? 'v1.35.4',
  /** Images built and loaded by hack/cluster/images.sh. */
  images: {
    transcoder: process.env.TRANSCODER_IMAGE ?? `videoflix/transcoder:${process.env.IMAGE_TAG ?? 'dev'}`,
    versitygw: process.env.VERSITYGW_IMAGE ?? `videoflix/versitygw:${versions.VERSITYGW_VERSION ?? 'v1.8.0'}`,
  },
  hostBeforeFile: process.env.HOST_BEFORE ?? path.join(ROOT, '.cache/cluster/host-before.txt'),
};
export const NODE_NAME = `${CLUSTER.name}-control-plane`;

const say = (line: string) => process.stderr.write(`[cluster] ${line}\n`);
const notUp = (why: string) =>
  new Error(
    `the kind cluster "${CLUSTER.name}" is not usable: ${why}.\n` +
      `  Start it first: hack/cluster/docker.sh up && hack/cluster/cluster.sh up && hack/cluster/images.sh ` +
      `(or make cluster images); hack/test.sh cluster does all of it.`,
  );

if (!fs.existsSync(CLUSTER.kubeconfig)) throw notUp(`no kubeconfig at ${CLUSTER.kubeconfig}`);
// the specs generate and check media on the host
for (const tool of ['ffmpeg', 'ffprobe']) {
  if (spawnSync(tool, ['-version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`${tool} is not installed on this host: hack/deps.sh host (Debian's ffmpeg)`);
  }
}
process.env.KUBECONFIG = CLUSTER.kubeconfig;
process.env.DOCKER_HOST = CLUSTER.dockerHost;

/** The cluster's admin KubeConfig. */
export function clusterConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(CLUSTER.kubeconfig);
  return kc;
}

/** Runs kubectl (./bin first on PATH) against the cluster; returns stdout, throws with stderr on failure. */
export function kubectl(args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync('kubectl', ['--kubeconfig', CLUSTER.kubeconfig, ...args], {
    encoding: 'utf8',
    input: opts.input,
    timeout: opts.timeoutMs ?? 60_000,
    env: { ...process.env, PATH: `${path.join(ROOT, 'bin')}:${process.env.PATH ?? ''}` },
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** The host's firewall rules and kernel settings, as hack/cluster/host-state.sh prints them. */
export function hostState(): string {
  return execFileSync(path.join(ROOT, 'hack/cluster/host-state.sh'), { encoding: 'utf8' });
}

/** Lines that differ between two host-state snapshots ("- before" / "+ after"), empty when equal. */
export function hostStateDiff(before: string, after: string): string[] {
  const a = new Set(before.split('\n').filter(Boolean));
  const b = new Set(after.split('\n').filter(Boolean));
  return [
    ...[...a].filter((l) => !b.has(l)).map((l) => `- ${l}`),
    ...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l}`),
  ];
}

/** The host state recorded before dockerd started (docker.sh up), else the one at the start of this run. */
export const HOST_AT_START = hostState();
export const HOST_BASELINE: { state: string; source: string } = fs.existsSync(CLUSTER.hostBeforeFile)
  ? {
      state: fs.readFileSync(CLUSTER.hostBeforeFile, 'utf8'),
      source: `${CLUSTER.hostBeforeFile} (before dockerd started)`,
    }
  : { state: HOST_AT_START, source: 'the start of this test run (no record from docker.sh up)' };

// The API server must answer: fail here, once, rather than in every test.
try {
  const kc = clusterConfig();
  const version = await kc.makeApiClient(k8s.VersionApi).getCode();
  say(
    `cluster ${CLUSTER.name} (${version.gitVersion}) at ${kc.getCurrentCluster()?.server}; kubeconfig ${CLUSTER.kubeconfig}`,
  );
} catch (err) {
  throw notUp(`its API server does not answer (${err instanceof Error ? err.message : String(err)})`);
}

export const mochaHooks = {
  afterAll(this: Mocha.Context): void {
    const now = hostState();
    const changed = hostStateDiff(HOST_BASELINE.state, now);
    const duringRun = hostStateDiff(HOST_AT_START, now);
    if (changed.length > 0 || duringRun.length > 0) {
      throw new Error(
        `the host's firewall rules or kernel settings changed:\n` +
          `  since ${HOST_BASELINE.source}:\n    ${changed.join('\n    ') || '(none)'}\n` +
          `  during this test run:\n    ${duringRun.join('\n    ') || '(none)'}`,
      );
    }
    say(`host firewall rules and kernel settings unchanged since ${HOST_BASELINE.source}`);
  },
};
