/** The one kubeconfig loader (common/kube/config.ts): shared keep-alive agents and a bound on every call. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Agent } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadKubeConfig } from '../../../common/kube/config.js';

const KUBECONFIG = (server: string) => `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: { server: "${server}", insecure-skip-tls-verify: true }
users:
- name: u
  user: { token: "t" }
contexts:
- name: x
  context: { cluster: c, user: u }
current-context: x
`;

/** What client-node's request path hands to applySecurityAuthentication. */
function requestContext() {
  const state: { agent?: Agent; signal?: AbortSignal; headers: Record<string, string> } = { headers: {} };
  return {
    state,
    setAgent: (a: Agent) => (state.agent = a),
    getSignal: () => state.signal,
    setSignal: (s: AbortSignal) => (state.signal = s),
    setHeaderParam: (k: string, v: string) => (state.headers[k] = v),
  };
}

type Authenticating = { applySecurityAuthentication(c: unknown): Promise<void> };

describe('common/kube/config: the kubeconfig loader of api and operator', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function load(server: string, timeoutMs?: number) {
    const file = path.join(dir, `${Math.random()}.yaml`);
    writeFileSync(file, KUBECONFIG(server));
    return loadKubeConfig({ file, timeoutMs }) as unknown as Authenticating;
  }

  it('gives every request of the same cluster one keep-alive agent', async () => {
    const kc = load('https://127.0.0.1:6443');
    const a = requestContext();
    const b = requestContext();
    await kc.applySecurityAuthentication(a);
    await kc.applySecurityAuthentication(b);
    expect(a.state.agent).to.not.equal(undefined);
    expect(a.state.agent).to.equal(b.state.agent);
    expect((a.state.agent as Agent & { keepAlive?: boolean }).keepAlive).to.equal(true);
    expect(a.state.headers.Authorization).to.equal('Bearer t');
  });

  it('another cluster gets another agent', async () => {
    const one = requestContext();
    const two = requestContext();
    await load('https://127.0.0.1:6443').applySecurityAuthentication(one);
    await load('https://127.0.0.2:6443').applySecurityAuthentication(two);
    expect(one.state.agent).to.not.equal(two.state.agent);
  });

  it('bounds every call with the request timeout, unless the caller passed its own signal', async () => {
    const kc = load('https://127.0.0.1:6443', 200);
    const c = requestContext();
    await kc.applySecurityAuthentication(c);
    const signal = c.state.signal!;
    expect(signal.aborted).to.equal(false);
    await new Promise((r) => setTimeout(r, 400));
    expect(signal.aborted).to.equal(true);

    const own = new AbortController().signal;
    const d = requestContext();
    d.state.signal = own;
    await kc.applySecurityAuthentication(d);
    expect(d.state.signal).to.equal(own);
  });
});
