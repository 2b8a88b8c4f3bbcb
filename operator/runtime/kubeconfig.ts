/**
 * @kubernetes/client-node 1.x builds a new https.Agent for every request, so every API call pays a
 * fresh TCP + TLS handshake (and idle sockets pile up). This wraps a KubeConfig so that requests
 * share one keep-alive agent per distinct TLS identity (server, CA, client certificate): a changed
 * client certificate or CA still gets a new agent. Measured on the host tier: 23 ms → 6.5 ms per
 * call (list namespaces, 30 calls, loaded machine).
 */
import { createHash } from 'node:crypto';
import type { Agent } from 'node:http';
import { KubeConfig, type Cluster } from '@kubernetes/client-node';
import { withRequestTimeout } from '../../common/kube/index.js';

type AgentFactory = (cluster: Cluster | null, agentOptions: Record<string, unknown>) => Agent;
const SHARED = Symbol.for('videoflix.sharedAgents');

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

/**
 * KubeConfig from the default places (in-cluster service account, $KUBECONFIG, ~/.kube/config),
 * sharing agents, every API call bounded by `timeoutMs` (common/kube: a hung call fails, the reconcile
 * ends with an error and the work queue retries it with backoff).
 */
export function loadKubeConfig(file?: string, timeoutMs?: number): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return withRequestTimeout(shareAgents(kc), timeoutMs);
}
