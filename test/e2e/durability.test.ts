/**
 * Data survives restarts (issue 20), on the platform `make dev` installed with the chart's defaults
 * (PersistentVolumeClaims on the cluster's default StorageClass, the local-path provisioner that
 * hack/cluster/cluster.sh deploys). Each bundled stateful service's Pod is deleted in turn:
 *   - PostgreSQL: users, sessions (a refresh token) and catalog rows are still there, and the same API
 *     Pods (no restart) answer again;
 *   - versitygw: every object of a Ready Video is still there (same keys, same sizes) and it still streams;
 *   - RabbitMQ: a durable queue and a persistent message in it are still there, and the API's own queue.
 * Figures printed: PVC provisioning time (claim created → volume bound) and each recovery time.
 */
import { expect } from 'chai';
import amqp from 'amqplib';
import {
  ensurePlatform,
  kubectl,
  kubectlJson,
  NS,
  openS3,
  portForward,
  secretValue,
  type Endpoints,
} from '../support/platform.js';
import { waitFor } from '../support/waiters.js';

interface PodList {
  items: Array<{
    metadata: { name: string; uid: string; creationTimestamp: string };
    status: { containerStatuses?: Array<{ restartCount: number; ready: boolean }> };
  }>;
}
interface AdminVideo {
  id: number;
  phase: string;
  resource: { name: string; uid?: string } | null;
}

const figure = (what: string, seconds: number) =>
  console.log(`      [figure] ${what}: ${seconds.toFixed(1)} s`);

describe('durability on the kind cluster: the bundled services keep their data across Pod restarts', function () {
  this.timeout(20 * 60_000);
  let env: Endpoints;
  let api: string;
  let admin: { access: string; refresh: string };

  async function login(): Promise<{ access: string; refresh: string }> {
    const res = await fetch(`${api}/api/login/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }),
    });
    expect(res.status, await res.clone().text()).to.equal(200);
    const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]!);
    const value = (name: string) => cookies.find((c) => c.startsWith(`${name}=`))!.slice(name.length + 1);
    return { access: value('access_token'), refresh: value('refresh_token') };
  }
  const adminList = async (): Promise<AdminVideo[]> => {
    const res = await fetch(`${api}/api/admin/videos/`, {
      headers: { Authorization: `Bearer ${admin.access}` },
    });
    if (res.status !== 200) throw new Error(`GET /api/admin/videos/ answered ${res.status}`);
    return (await res.json()) as AdminVideo[];
  };
  const pods = (component: string) =>
    kubectlJson<PodList>(['get', 'pods', '-n', NS, '-l', `app.kubernetes.io/component=${component}`]);

  /** Deletes the one Pod of a bundled StatefulSet; resolves when its replacement is Ready, with the times. */
  async function restart(component: string): Promise<{ podReadyS: number; t0: number }> {
    const before = (await pods(component)).items;
    expect(before, `one ${component} Pod`).to.have.length(1);
    const t0 = Date.now();
    kubectl(['delete', 'pod', before[0]!.metadata.name, '-n', NS, '--wait=false']);
    await waitFor(
      async () => {
        const now = (await pods(component)).items;
        return now.length === 1 &&
          now[0]!.metadata.uid !== before[0]!.metadata.uid &&
          now[0]!.status.containerStatuses?.every((c) => c.ready)
          ? true
          : undefined;
      },
      { timeoutMs: 10 * 60_000, intervalMs: 1000, what: `a new Ready ${component} Pod` },
    );
    return { podReadyS: (Date.now() - t0) / 1000, t0 };
  }

  before(async function () {
    this.timeout(90 * 60_000);
    env = await ensurePlatform();
    api = env.API_URL.replace(/\/+$/, '');
    admin = await login();
  });

  it('the bundled services run on PersistentVolumeClaims bound by the default StorageClass', async () => {
    const pvcs = await kubectlJson<{
      items: Array<{
        metadata: { name: string; creationTimestamp: string; labels?: Record<string, string> };
        spec: { volumeName?: string; storageClassName?: string };
        status: { phase: string };
      }>;
    }>(['get', 'pvc', '-n', NS]);
    for (const component of ['postgresql', 'rabbitmq', 'versitygw']) {
      const pvc = pvcs.items.find((p) => p.metadata.labels?.['app.kubernetes.io/component'] === component);
      expect(pvc, `a PVC of ${component}`).to.not.equal(undefined);
      expect(pvc!.status.phase, `${component} PVC`).to.equal('Bound');
      expect(pvc!.spec.storageClassName).to.equal('standard');
      const pv = await kubectlJson<{
        metadata: { creationTimestamp: string };
        spec: { storageClassName: string };
      }>(['get', 'pv', pvc!.spec.volumeName!]);
      // WaitForFirstConsumer: the claim waits for its Pod to be scheduled, then the helper Pod makes the directory
      figure(
        `PVC provisioning of ${component} (claim created → volume created, 1 s resolution)`,
        (Date.parse(pv.metadata.creationTimestamp) - Date.parse(pvc!.metadata.creationTimestamp)) / 1000,
      );
    }
  });

  it('PostgreSQL Pod deleted: users, sessions and catalog rows survive; the same API Pods answer again', async () => {
    // a row being deleted (another spec's clean-up, shared platform) may finish meanwhile: not compared
    const settled = async () =>
      (await adminList())
        .filter((v) => v.phase !== 'Deleting')
        .map((v) => `${v.id}:${v.phase}`)
        .sort();
    const rows = await settled();
    expect(rows.length, 'catalog rows (make dev uploads a sample)').to.be.greaterThan(0);
    const apiBefore = (await pods('api')).items.map((p) => [
      p.metadata.uid,
      p.status.containerStatuses?.[0]?.restartCount,
    ]);
    const { podReadyS, t0 } = await restart('postgresql');
    figure('PostgreSQL Pod deleted → new Pod Ready', podReadyS);
    await waitFor(async () => (await fetch(`${api}/readyz`)).status === 200 || undefined, {
      timeoutMs: 5 * 60_000,
      intervalMs: 500,
      what: 'the API ready again',
    });
    figure('PostgreSQL Pod deleted → the API ready again', (Date.now() - t0) / 1000);
    // the session made before the restart is still there: its refresh token rotates
    const refreshed = await fetch(`${api}/api/token/refresh/`, {
      method: 'POST',
      // a cookie-authenticated POST carries its Origin (the API's CSRF check)
      headers: { Cookie: `refresh_token=${admin.refresh}`, Origin: new URL(api).origin },
    });
    expect(refreshed.status, await refreshed.clone().text()).to.equal(200);
    admin = await login(); // the user is still there
    expect(await settled()).to.deep.equal(rows);
    const apiAfter = (await pods('api')).items.map((p) => [
      p.metadata.uid,
      p.status.containerStatuses?.[0]?.restartCount,
    ]);
    expect(apiAfter, 'the API Pods were neither replaced nor restarted').to.deep.equal(apiBefore);
  });

  it('versitygw Pod deleted: every object is still there and a Ready Video still streams', async () => {
    const ready = (await adminList()).find((v) => v.phase === 'Ready' && v.resource);
    expect(ready, 'a Ready Video (make dev uploads a sample)').to.not.equal(undefined);
    const video = await kubectlJson<{ metadata: { uid: string } }>([
      'get',
      'video',
      ready!.resource!.name,
      '-n',
      NS,
    ]);
    const prefix = `${video.metadata.uid}/`;
    const inventory = async () => {
      const s3 = await openS3();
      try {
        const out: string[] = [];
        for await (const o of s3.client.listObjectsV2(s3.mediaBucket, prefix, true) as AsyncIterable<{
          name?: string;
          size?: number;
        }>)
          if (o.name) out.push(`${o.name} ${o.size}`);
        return out.sort();
      } finally {
        await s3.stop();
      }
    };
    const objects = await inventory();
    expect(objects.some((o) => o.startsWith(`${prefix}master.m3u8 `))).to.equal(true);
    const cookie = `access_token=${admin.access}`;
    const master = `${api}/api/video/${ready!.id}/master.m3u8`;
    expect((await fetch(master, { headers: { Cookie: cookie } })).status).to.equal(200);

    const { podReadyS, t0 } = await restart('versitygw');
    figure('versitygw Pod deleted → new Pod Ready', podReadyS);
    // streaming again = what a player fetches: the master playlist, a variant and its first segment (the
    // master alone may come from the API's cache while the S3 server is still away)
    const play = async () => {
      const m = await fetch(master, { headers: { Cookie: cookie } });
      if (m.status !== 200) return undefined;
      const variant = (await m.text()).split('\n').find((l) => l.trim() && !l.startsWith('#'))!;
      const variantUrl = new URL(variant, master);
      const playlist = await fetch(variantUrl, { headers: { Cookie: cookie } });
      if (playlist.status !== 200) return undefined;
      const segment = (await playlist.text()).split('\n').find((l) => l.trim() && !l.startsWith('#'))!;
      const seg = await fetch(new URL(segment, variantUrl), { headers: { Cookie: cookie } });
      if (seg.status !== 200) return undefined;
      return (await seg.arrayBuffer()).byteLength;
    };
    const segmentBytes = await waitFor(play, {
      timeoutMs: 5 * 60_000,
      intervalMs: 500,
      what: 'the master playlist, a variant and its first segment streaming again',
    });
    figure('versitygw Pod deleted → streaming again', (Date.now() - t0) / 1000);
    expect(segmentBytes).to.be.greaterThan(0);
    expect(await inventory(), 'every object of the Video, same sizes').to.deep.equal(objects);
    // the operator does not see anything missing either
    const v = await kubectlJson<{ status: { phase: string } }>([
      'get',
      'video',
      ready!.resource!.name,
      '-n',
      NS,
    ]);
    expect(v.status.phase).to.equal('Ready');
  });

  it("RabbitMQ Pod deleted: a durable queue and its persistent message are still there, and the API's queue", async () => {
    const sts = (await pods('rabbitmq')).items[0]!.metadata.name.replace(/-0$/, '');
    const password = await secretValue(sts, 'password');
    const queue = `e2e.durability.${Date.now().toString(36)}`;
    const body = `kept across a restart ${queue}`;
    const withBroker = async <T>(fn: (ch: amqp.Channel) => Promise<T>): Promise<T> => {
      const pf = await portForward(sts, 5672);
      try {
        const conn = await amqp.connect(
          `amqp://videoflix:${encodeURIComponent(password)}@127.0.0.1:${pf.port}`,
        );
        try {
          return await fn(await conn.createConfirmChannel());
        } finally {
          await conn.close().catch(() => undefined);
        }
      } finally {
        await pf.stop();
      }
    };
    await withBroker(async (ch) => {
      await ch.assertQueue(queue, { durable: true });
      ch.sendToQueue(queue, Buffer.from(body), { persistent: true });
      await (ch as amqp.ConfirmChannel).waitForConfirms();
    });
    const { podReadyS } = await restart('rabbitmq');
    figure('RabbitMQ Pod deleted → new Pod Ready', podReadyS);
    await withBroker(async (ch) => {
      const q = await ch.checkQueue(queue);
      expect(q.messageCount).to.equal(1);
      const msg = await ch.get(queue, { noAck: false });
      expect(msg && msg.content.toString()).to.equal(body);
      await ch.deleteQueue(queue);
      // the API's durable queue (AMQP_QUEUE) is there too, with a consumer again once the API reconnected
      await waitFor(
        async () => ((await ch.checkQueue('videoflix.api.status')).consumerCount > 0 ? true : undefined),
        {
          timeoutMs: 3 * 60_000,
          intervalMs: 2000,
          what: 'the API consuming its queue again',
        },
      );
    });
  });
});
