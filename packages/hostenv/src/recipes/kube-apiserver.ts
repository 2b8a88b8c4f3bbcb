/** kube-apiserver: TLS from the environment's PKI, RBAC, client certificates, signed service-account tokens. */
import fs from 'node:fs';
import path from 'node:path';
import { BIN_DIR, baseEnv, flags } from '../paths.js';
import { httpsStatus } from '../probes.js';
import type { Check, HostEnvState, LaunchSpec, RecipeContext } from '../types.js';

export function apiserverSpec({ state, ports, data, pki }: RecipeContext): LaunchSpec {
  const file = (name: string) => path.join(pki, name);
  return {
    name: 'kube-apiserver',
    cmd: path.join(BIN_DIR, 'kube-apiserver'),
    args: flags({
      'etcd-servers': `http://127.0.0.1:${ports.etcd}`,
      'secure-port': ports.apiserver,
      'bind-address': '127.0.0.1',
      'advertise-address': '127.0.0.1',
      'tls-cert-file': file('apiserver.crt'),
      'tls-private-key-file': file('apiserver.key'),
      'client-ca-file': file('ca.crt'),
      'authorization-mode': 'RBAC',
      'service-account-issuer': state.apiserverUrl,
      'service-account-key-file': file('sa.pub'),
      'service-account-signing-key-file': file('sa.key'),
      'service-cluster-ip-range': '10.0.0.0/24',
      'endpoint-reconciler-type': 'none',
      'allow-privileged=true': true,
      'cert-dir': file('apiserver-certs'),
      'profiling=false': true,
    }),
    env: baseEnv(data),
    cwd: data,
  };
}

export function apiserverReady(state: HostEnvState): Check {
  const ca = fs.readFileSync(path.join(state.root, 'pki/ca.crt'));
  return async () => (await httpsStatus(`${state.apiserverUrl}/readyz`, ca)) === 200;
}
