/**
 * Kubernetes helpers for tests: a KubeConfig from $KUBECONFIG (the host environment's admin
 * kubeconfig), and unique throw-away namespaces.
 */
import crypto from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { waitFor } from './waiters.js';

export const TEST_NAMESPACE_LABEL = 'videoflix.io/test';

/** Loads $KUBECONFIG (fails when it is not set, instead of falling back to ~/.kube/config). */
export function kubeConfig(file = process.env.KUBECONFIG): k8s.KubeConfig {
  if (!file) throw new Error('KUBECONFIG is not set: is the host environment running?');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

/** A KubeConfig for an API server that is not there (`port`: nothing listens): outage tests. */
export function unreachableKubeConfig(port: number): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'dead', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'x' }],
    contexts: [{ name: 'dead', cluster: 'dead', user: 'u' }],
    currentContext: 'dead',
  });
  return kc;
}

/** A DNS-1123 label: prefix + random suffix, at most 63 characters. */
export function uniqueName(prefix = 'test'): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 50) || 'test';
  return `${clean}-${crypto.randomBytes(4).toString('hex')}`;
}

/** The status code of a client-node ApiException (undefined for other errors). */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof k8s.ApiException ? err.code : undefined;
}

export interface TestNamespaceOptions {
  /** Wait until the serviceaccount controller created `default` (pods need it; default true). */
  waitForServiceAccount?: boolean;
  labels?: Record<string, string>;
}

/** Creates a uniquely named namespace labelled videoflix.io/test=true and returns its name. */
export async function createTestNamespace(
  kc: k8s.KubeConfig,
  prefix = 'test',
  opts: TestNamespaceOptions = {},
): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const name = uniqueName(prefix);
  await core.createNamespace({
    body: { metadata: { name, labels: { [TEST_NAMESPACE_LABEL]: 'true', ...opts.labels } } },
  });
  if (opts.waitForServiceAccount ?? true) {
    await waitFor(
      async () =>
        (await core.listNamespacedServiceAccount({ namespace: name })).items.some(
          (sa) => sa.metadata?.name === 'default',
        ),
      {
        timeoutMs: 15_000,
        what: `ServiceAccount default in namespace ${name}`,
      },
    );
  }
  return name;
}

/** Deletes a namespace (ignores 404); with wait, resolves only when the namespace controller removed it. */
export async function deleteNamespace(
  kc: k8s.KubeConfig,
  name: string,
  opts: { wait?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  try {
    await core.deleteNamespace({ name });
  } catch (err) {
    if (apiStatus(err) !== 404) throw err;
  }
  if (opts.wait) {
    await waitFor(
      async () => {
        try {
          const ns = await core.readNamespace({ name });
          const conditions = (ns.status?.conditions ?? [])
            .filter((c) => c.status === 'True')
            .map((c) => `${c.type}: ${c.message ?? ''}`);
          throw new Error(`namespace still ${ns.status?.phase ?? 'present'} ${conditions.join('; ')}`);
        } catch (err) {
          if (apiStatus(err) === 404) return true;
          throw err;
        }
      },
      { timeoutMs: opts.timeoutMs ?? 60_000, what: `namespace ${name} to be deleted` },
    );
  }
}
