/**
 * The one kubeconfig loader of the platform (the api and the operator both use it): client-node's
 * default places (in-cluster service account, $KUBECONFIG, ~/.kube/config) or a given file, with
 * - one shared keep-alive agent per distinct TLS identity (shareAgents): @kubernetes/client-node
 *   1.x builds a new https.Agent for every request, so every API call would pay a fresh TCP + TLS
 *   handshake (measured on the host tier: 23 ms → 6.5 ms per call, list namespaces, 30 calls);
 * - every request bounded by `timeoutMs` (withRequestTimeout): a hung call fails, and the caller
 *   answers 503 (api) or retries the reconcile with backoff (operator).
 */
import { createHash } from 'node:crypto';
import type { Agent } from 'node:http';
import { KubeConfig, type Cluster } from '@kubernetes/client-node';
import { withRequestTimeout } from './index.js';

type AgentFactory = (cluster: Cluster | null, agentOptions: Record<string, unknown>) => Agent;
const SHARED = Symbol.for('videoflix.sharedAgents');

/**
 * Makes requests through `kc` share one keep-alive agent per TLS identity (server, CA, client
 * certificate): a changed client certificate or CA still gets a new agent.
 */
export function shareAgents(kc: KubeConfig): KubeConfig {
  // createAgent is private in the typings but a plain method at run time (client-node 1.4).
  const target = kc as unknown as { createAgent: AgentFactory; [SHARED]?: true };
  if (target[SHARED] || typeof target.createAgent !== 'function') return kc;
  const original = target.createAgent.bind(kc);
  const agents = new Map<string, Agent>();
  target.createAgent = (cluster, agentOptions) => {
    const o = agentOptions;
    const identity = createHash('sha256')
      .update(
        JSON.stringify(
          [
            cluster?.server,
            cluster?.proxyUrl,
            o.ca,
            o.cert,
            o.key,
            o.pfx,
            o.servername,
            o.rejectUnauthorized,
          ].map((x) => (x === undefined ? null : String(x))),
        ),
      )
      .digest('hex');
    let agent = agents.get(identity);
    if (!agent) {
      agent = original(cluster, { ...agentOptions, keepAlive: true });
      if (agents.size > 8) agents.clear();
      agents.set(identity, agent);
    }
    return agent;
  };
  target[SHARED] = true;
  return kc;
}

export interface KubeConfigOptions {
  /** A kubeconfig file; default: client-node's default places. */
  file?: string | undefined;
  /** Longest wait for one API call (default DEFAULT_KUBE_REQUEST_TIMEOUT_MS). */
  timeoutMs?: number | undefined;
}

export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (options.file) kc.loadFromFile(options.file);
  else kc.loadFromDefault();
  return withRequestTimeout(shareAgents(kc), options.timeoutMs);
}
