/** etcd: one member on loopback, no fsync (a test store). */
import path from 'node:path';
import { BIN_DIR, baseEnv, flags } from '../paths.js';
import { httpAnswers } from '../probes.js';
import type { Check, HostEnvState, LaunchSpec, RecipeContext } from '../types.js';

export function etcdSpec({ ports, data }: RecipeContext): LaunchSpec {
  return {
    name: 'etcd',
    cmd: path.join(BIN_DIR, 'etcd'),
    args: flags({
      name: 'hostenv',
      'data-dir': path.join(data, 'etcd'),
      'listen-client-urls': `http://127.0.0.1:${ports.etcd}`,
      'advertise-client-urls': `http://127.0.0.1:${ports.etcd}`,
      'listen-peer-urls': `http://127.0.0.1:${ports.etcdPeer}`,
      'initial-advertise-peer-urls': `http://127.0.0.1:${ports.etcdPeer}`,
      'initial-cluster': `hostenv=http://127.0.0.1:${ports.etcdPeer}`,
      'unsafe-no-fsync': true,
      'log-level': 'warn',
    }),
    env: baseEnv(data),
    cwd: data,
  };
}

export function etcdReady(state: HostEnvState): Check {
  return () => httpAnswers(`http://127.0.0.1:${state.ports.etcd}/health`, true);
}
