/**
 * Fault 2 (issue 20): the operator leader loses the API server (its Pod's traffic to it dropped, the Pod
 * itself left alone) for longer than the Lease, two replicas running. The rule is an iptables DROP inside
 * the leader Pod's own network namespace, entered with nsenter from the kind node container (never the
 * host's namespace), removed at the end. The standby takes over, and the old leader stops acting before
 * the new one starts: the time the old process gave up (its own log line, read from the terminated
 * container) is before the new holder's Lease acquireTime. The Video processed meanwhile ends Ready.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createMediaDir, type MediaDir } from '../support/media.js';
import { kubectlAsync, kubectlJson, operatorSettings } from '../support/platform.js';
import { waitFor } from '../support/waiters.js';
import {
  componentSelector,
  leaseHolder,
  NS,
  Platform,
  pods,
  scale,
  scenario,
  seconds,
  SETTLE_TIMEOUT_MS,
  videoResource,
  faultIt,
} from './support.js';

const execFileP = promisify(execFile);
/**
 * Runs a command inside the kind node container that runs `pod` (its own namespaces; the host's are never
 * touched). The kind node container's name is the Kubernetes node name.
 */
const nodeOfPod = new Map<string, string>(); // looked up once: the undo still finds the node when the Pod is gone
const onNodeOf = async (pod: string, args: string[]) => {
  let node = nodeOfPod.get(pod);
  if (!node) {
    const found = (await kubectlJson<{ spec?: { nodeName?: string } }>(['-n', NS, 'get', 'pod', pod])).spec
      ?.nodeName;
    if (!found) throw new Error(`pod ${pod} is not scheduled on a node`);
    nodeOfPod.set(pod, (node = found));
  }
  return (await execFileP('docker', ['exec', node, ...args], { timeout: 60_000 })).stdout;
};

describe('fault 2: the operator leader cut from the API server', function () {
  let p: Platform;
  let media: MediaDir;
  let deployment = '';
  let replicasBefore = 1;
  let undo: (() => Promise<void>) | undefined;
  const tag = Date.now().toString(36);

  before(async function () {
    this.timeout(90 * 60_000);
    p = await Platform.open();
    media = await createMediaDir('videoflix-faults-2-');
    deployment = `deployment/${(await operatorSettings()).deployment}`;
    replicasBefore = (await pods(componentSelector('operator'))).filter((x) => !x.deleting).length || 1;
  });

  after(async function () {
    await undo?.().catch((err: Error) => console.error(`      removing the DROP rule: ${err.message}`));
    if (deployment) await scale(deployment, replicasBefore).catch(() => undefined);
    await media?.cleanup();
    await p?.close();
  });

  faultIt(
    '2 the leader partitioned past its Lease: the standby takes over, never two leaders at once',
    async function () {
      const fig = scenario(
        this,
        '2',
        "operator leader's traffic to the API server dropped (iptables in its netns) past the Lease",
        'standby takes over; old leader gave up (its log) before the new Lease acquireTime; Video Ready',
      );
      const { leaseName } = await operatorSettings();
      await scale(deployment, 2);
      await waitFor(
        async () =>
          (await pods(componentSelector('operator'))).filter((x) => x.ready && !x.deleting).length >= 2,
        { timeoutMs: 5 * 60_000, intervalMs: 1000, what: 'two Ready operator Pods' },
      );
      const leader = await waitFor(() => leaseHolder(leaseName), {
        timeoutMs: 60_000,
        what: 'a Lease holder',
      });
      const clip = await media.clip({ durationSec: 12, width: 640, height: 360 });
      const id = await p.upload(clip, `faults 2 ${tag}`);
      const name = await p.resourceName(id);

      // the leader Pod's network namespace, through its sandbox's pid in the node
      const sandbox = (
        await onNodeOf(leader, ['crictl', 'pods', '--name', `^${leader}$`, '--namespace', NS, '-q'])
      ).trim();
      expect(sandbox, `the sandbox of ${leader}`).to.not.equal('');
      const info = JSON.parse(await onNodeOf(leader, ['crictl', 'inspectp', sandbox])) as {
        info?: { pid?: number };
      };
      const pid = info.info?.pid;
      expect(pid, 'the sandbox pid').to.be.a('number');
      const svc = await kubectlJson<{ spec: { clusterIP: string } }>([
        'get',
        'service',
        'kubernetes',
        '-n',
        'default',
      ]);
      const rule = ['-p', 'tcp', '-d', svc.spec.clusterIP, '--dport', '443', '-j', 'DROP'];
      const leaderPod = (await pods(componentSelector('operator'))).find((x) => x.name === leader)!;
      await onNodeOf(leader, ['nsenter', '-t', String(pid), '-n', 'iptables', '-I', 'OUTPUT', ...rule]);
      const cutAt = Date.now();
      undo = async () => {
        await onNodeOf(leader, ['nsenter', '-t', String(pid), '-n', 'iptables', '-D', 'OUTPUT', ...rule]);
        undo = undefined;
      };

      const newHolder = await waitFor(
        async () => {
          const h = await leaseHolder(leaseName);
          return h && h !== leader ? h : undefined;
        },
        {
          timeoutMs: 3 * 60_000,
          intervalMs: 250,
          what: `a holder of Lease ${leaseName} other than ${leader}`,
        },
      );
      fig.takeoverSeconds = seconds(Date.now() - cutAt);
      const lease = await kubectlJson<{ spec: { acquireTime?: string } }>([
        'get',
        'lease',
        leaseName,
        '-n',
        NS,
      ]);
      const acquiredAt = Date.parse(lease.spec.acquireTime ?? '');
      // the old leader gives up by itself (its process exits on a lost Lease): its container restarts
      const restarted = await waitFor(
        async () => {
          const pod = (await pods(componentSelector('operator'))).find((x) => x.name === leader);
          return pod && pod.restarts > leaderPod.restarts ? pod : undefined;
        },
        {
          timeoutMs: 2 * 60_000,
          intervalMs: 500,
          what: `the cut-off leader ${leader} giving up (a container restart)`,
        },
      ).catch((err: Error) => err);
      await undo();
      let gaveUpAt = NaN;
      let log = '';
      if (!(restarted instanceof Error)) {
        log = await kubectlAsync(['logs', '-n', NS, leader, '--previous']);
        const line = log
          .split('\n')
          .reverse()
          .find((l) => /lost the Lease|lost leadership|stopped leading/i.test(l));
        // pino's time: an ISO string in the operator's logs (epoch milliseconds in pino's default)
        const time = line ? (JSON.parse(line) as { time?: number | string }).time : undefined;
        if (time !== undefined) gaveUpAt = typeof time === 'number' ? time : Date.parse(time);
      }
      fig.oldLeaderGaveUpBeforeNewSeconds = Number.isNaN(gaveUpAt) ? null : seconds(acquiredAt - gaveUpAt);
      fig.twoLeadersAtOnce = Number.isNaN(gaveUpAt) ? null : gaveUpAt < acquiredAt ? 0 : 1;
      const row = await p.waitPhase(id, 'Ready', SETTLE_TIMEOUT_MS).catch((err: Error) => err);
      const v = await videoResource(name);

      expect(newHolder).to.not.equal(leader);
      expect(restarted, 'the cut-off leader stops by itself').to.not.be.instanceOf(Error);
      expect(
        Number.isNaN(gaveUpAt),
        `the old leader's "lost the Lease" log line found; its last lines:\n${log.split('\n').slice(-8).join('\n')}`,
      ).to.equal(false);
      expect(gaveUpAt, 'the old leader gave up before the new one acquired the Lease').to.be.lessThan(
        acquiredAt,
      );
      expect(row, `catalog row ${id}`).to.not.be.instanceOf(Error);
      expect(v.status?.phase).to.equal('Ready');
    },
  );
});
