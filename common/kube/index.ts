/**
 * A bound on every request of @kubernetes/client-node's generated API clients (CoreV1Api,
 * CustomObjectsApi, ...), shared by the api and the operator. client-node 1.x sends each request with
 * node-fetch and no timeout at all: an API server that accepts the connection and never answers (a
 * frozen process, a dropped network path) hangs the call, and with it an HTTP request of the API or a
 * reconcile of the operator, for ever. Every request gets an AbortSignal that fires after `ms`
 * (the whole exchange, body included), unless the caller passed its own signal. Watches do not go
 * through here (client-node's Watch has its own request path; the operator's informer has a watchdog).
 */
import type { KubeConfig } from '@kubernetes/client-node';

export const DEFAULT_KUBE_REQUEST_TIMEOUT_MS = 15_000;

interface SignalContext {
  getSignal(): AbortSignal | undefined;
  setSignal(signal: AbortSignal): void;
}
type Apply = (context: SignalContext) => Promise<void>;
const BOUNDED = Symbol.for('videoflix.kubeRequestTimeout');

/** Makes every API call through clients of `kc` (kc.makeApiClient) fail after `ms` without an answer. */
export function withRequestTimeout(kc: KubeConfig, ms = DEFAULT_KUBE_REQUEST_TIMEOUT_MS): KubeConfig {
  // applySecurityAuthentication is what makeApiClient's configuration calls on every request.
  const target = kc as unknown as { applySecurityAuthentication: Apply; [BOUNDED]?: number };
  if (typeof target.applySecurityAuthentication !== 'function') return kc;
  if (target[BOUNDED] !== undefined) {
    target[BOUNDED] = ms;
    return kc;
  }
  const original = target.applySecurityAuthentication.bind(kc);
  target[BOUNDED] = ms;
  target.applySecurityAuthentication = async (context) => {
    await original(context);
    if (!context.getSignal()) context.setSignal(AbortSignal.timeout(target[BOUNDED] ?? ms));
  };
  return kc;
}

/** A client-node call that was aborted by withRequestTimeout (node-fetch's AbortError). */
export function isKubeTimeout(err: unknown): boolean {
  const e = err as { name?: string; type?: string } | undefined;
  return e?.name === 'AbortError' || e?.type === 'aborted';
}
