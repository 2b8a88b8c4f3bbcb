/**
 * kube-controller-manager with only the controllers the tests rely on (Jobs, garbage collection,
 * namespaces, service accounts and their tokens, TTL after finished, the root CA ConfigMap).
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { BIN_DIR, baseEnv, flags } from '../paths.js';
import { kubeRequest } from '../probes.js';
import type { Check, HostEnvState, LaunchSpec, RecipeContext } from '../types.js';

export const KCM_CONTROLLERS = [
  'job-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'ttl-after-finished-controller',
  'root-ca-certificate-publisher-controller',
];

export function controllerManagerSpec({ data, pki }: RecipeContext): LaunchSpec {
  return {
    name: 'kube-controller-manager',
    cmd: path.join(BIN_DIR, 'kube-controller-manager'),
    args: flags({
      kubeconfig: path.join(pki, 'kcm.kubeconfig'),
      'leader-elect=false': true,
      controllers: KCM_CONTROLLERS.join(','),
      'use-service-account-credentials=true': true,
      'service-account-private-key-file': path.join(pki, 'sa.key'),
      'root-ca-file': path.join(pki, 'ca.crt'),
      'secure-port': 0,
      'cert-dir': path.join(pki, 'kcm-certs'),
      'profiling=false': true,
    }),
    env: baseEnv(data),
    cwd: data,
  };
}

export function controllerManagerReady(state: HostEnvState, restart: boolean): Check {
  const api = (method: string, apiPath: string, body?: unknown) => kubeRequest(state, method, apiPath, body);
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
