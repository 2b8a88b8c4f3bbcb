/**
 * The cluster tier itself: the node built here is Ready with the pinned versions, CoreDNS answers for
 * Services from inside a Pod, and creating the cluster left the host's firewall and kernel settings alone.
 */
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import {
  CLUSTER,
  HOST_AT_START,
  HOST_BASELINE,
  NODE_NAME,
  clusterConfig,
  hostStateDiff,
} from '../support/cluster-hooks.js';
import { createTestNamespace, deleteNamespace } from '../support/kube.js';
import { restrictedContainer, waitForPodPhase } from './support.js';

describe('cluster tier: the kind cluster', function () {
  const kc = clusterConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  let namespace: string;

  before(async function () {
    namespace = await createTestNamespace(kc, 'cluster');
  });
  after(async function () {
    if (namespace && process.env.KEEP_NAMESPACE !== '1') await deleteNamespace(kc, namespace);
  });

  it('has its nodes Ready (the control plane and CLUSTER_WORKERS workers), running the pinned Kubernetes with containerd 2', async function () {
    const nodes = (await core.listNode()).items;
    expect(nodes.map((n) => n.metadata?.name)).to.include(NODE_NAME);
    const workers = nodes.filter((n) => n.metadata?.name !== NODE_NAME);
    if (process.env.CLUSTER_WORKERS) expect(workers).to.have.length(Number(process.env.CLUSTER_WORKERS));
    for (const node of nodes) {
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      expect(ready?.status, `${node.metadata?.name} Ready condition: ${JSON.stringify(ready)}`).to.equal(
        'True',
      );
      expect(node.status?.nodeInfo?.kubeletVersion).to.equal(CLUSTER.k8sVersion);
      expect(node.status?.nodeInfo?.containerRuntimeVersion).to.match(/^containerd:\/\/2\./);
    }
    // with workers the control plane keeps kubeadm's NoSchedule taint: workloads go to the workers
    const cpTaints = nodes.find((n) => n.metadata?.name === NODE_NAME)?.spec?.taints ?? [];
    expect(cpTaints.some((t) => t.effect === 'NoSchedule')).to.equal(workers.length > 0);
  });

  it('connects Pods on two different workers by Pod address and through a Service (several nodes only)', async function () {
    const workers = (await core.listNode()).items
      .map((n) => n.metadata?.name ?? '')
      .filter((n) => n !== NODE_NAME)
      .sort();
    if (workers.length < 2) {
      // a one-node cluster has no second node to reach: what this spec proves does not exist there
      expect(
        Number(process.env.CLUSTER_WORKERS ?? 0),
        'CLUSTER_WORKERS asks for workers the cluster lacks',
      ).to.be.lessThan(2);
      return;
    }
    const server = `require('http').createServer((q, r) => r.end('hello from ' + require('os').hostname())).listen(8080)`;
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'server', labels: { app: 'cross-node-server' } },
        spec: {
          nodeName: workers[0],
          automountServiceAccountToken: false,
          containers: [
            {
              ...restrictedContainer,
              name: 'server',
              image: CLUSTER.images.transcoder,
              command: ['node', '-e', server],
              ports: [{ containerPort: 8080 }],
            },
          ],
        },
      },
    });
    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'cross-node' },
        spec: { selector: { app: 'cross-node-server' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    const running = await waitForPodPhase(core, namespace, 'server', ['Running']);
    const podIp = running.status?.podIP ?? '';
    expect(podIp, "the server Pod has an address of its node's /24").to.match(/^10\.244\.[1-9]\./);
    const client = `(async () => { for (const u of process.argv.slice(1)) { for (let i = 0; ; i++) { try { const r = await fetch(u); console.log(u + ' ' + r.status + ' ' + (await r.text())); break; } catch (e) { if (i > 20) throw e; await new Promise((ok) => setTimeout(ok, 500)); } } } })().catch((e) => { console.error(e); process.exit(1); })`;
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'client' },
        spec: {
          nodeName: workers[1],
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          containers: [
            {
              ...restrictedContainer,
              name: 'client',
              image: CLUSTER.images.transcoder,
              command: [
                'node',
                '-e',
                client,
                `http://${podIp}:8080/`,
                `http://cross-node.${namespace}.svc.cluster.local/`,
              ],
            },
          ],
        },
      },
    });
    const done = await waitForPodPhase(core, namespace, 'client', ['Succeeded', 'Failed']);
    const log = await core.readNamespacedPodLog({ namespace, name: 'client' });
    expect(done.status?.phase, `client log:\n${log}`).to.equal('Succeeded');
    expect(log).to.contain(`http://${podIp}:8080/ 200 hello from server`);
    expect(log).to.match(/cross-node\.[^ ]+ 200 hello from server/);
  });

  it('runs the control plane and kube-proxy from the images preloaded in the node image', async function () {
    const pods = await core.listNamespacedPod({ namespace: 'kube-system' });
    const byPrefix = (p: string) => pods.items.filter((x) => x.metadata?.name?.startsWith(p));
    for (const prefix of [
      'etcd-',
      'kube-apiserver-',
      'kube-controller-manager-',
      'kube-scheduler-',
      'kube-proxy-',
      'coredns-',
    ]) {
      const found = byPrefix(prefix);
      expect(found, `kube-system pods named ${prefix}*`).to.have.length.greaterThan(0);
      for (const p of found) {
        expect(p.status?.phase, `${p.metadata?.name}`).to.equal('Running');
        expect(
          p.status?.containerStatuses?.every((s) => s.ready),
          `${p.metadata?.name} ready`,
        ).to.equal(true);
      }
    }
    const images = pods.items.flatMap((p) => p.spec?.containers.map((c) => c.image) ?? []);
    expect(images).to.include(`registry.k8s.io/kube-apiserver:${CLUSTER.k8sVersion}`);
    expect(images).to.include('registry.k8s.io/coredns/coredns:v1.13.1');
  });

  it('resolves a Service name through CoreDNS from inside a Pod', async function () {
    const svc = await core.createNamespacedService({
      namespace,
      body: { metadata: { name: 'dns-target' }, spec: { ports: [{ port: 80 }] } },
    });
    const ip = svc.spec?.clusterIP;
    expect(ip).to.match(/^10\.96\./);
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'resolver' },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          containers: [
            {
              ...restrictedContainer,
              name: 'resolver',
              image: CLUSTER.images.transcoder,
              // the short name goes through the Pod's search path, the full name straight to CoreDNS
              command: [
                'sh',
                '-c',
                `getent hosts dns-target && getent hosts dns-target.${namespace}.svc.cluster.local && cat /etc/resolv.conf`,
              ],
            },
          ],
        },
      },
    });
    const pod = await waitForPodPhase(core, namespace, 'resolver', ['Succeeded', 'Failed']);
    const log = await core.readNamespacedPodLog({ namespace, name: 'resolver' });
    expect(pod.status?.phase, `pod log:\n${log}`).to.equal('Succeeded');
    const lines = log.split('\n');
    expect(lines[0], log).to.match(
      new RegExp(`^${ip!.replace(/\./g, '\\.')}\\s+dns-target\\.${namespace}\\.svc\\.cluster\\.local`),
    );
    expect(lines[1], log).to.match(new RegExp(`^${ip!.replace(/\./g, '\\.')}\\s`));
    expect(log).to.match(/nameserver 10\.96\.0\.10/);
  });

  it("left the host's firewall rules and kernel settings as they were before dockerd started", function () {
    const diff = hostStateDiff(HOST_BASELINE.state, HOST_AT_START);
    expect(diff, `changed since ${HOST_BASELINE.source}`).to.deep.equal([]);
    expect(HOST_AT_START).to.match(/^sysctl vm\.overcommit_memory = /m);
  });
});
