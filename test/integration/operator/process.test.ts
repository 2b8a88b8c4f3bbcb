/**
 * operator/main.ts as a process: configuration from the environment, /readyz and /metrics, the
 * Lease, a Video reconciled, status published to RabbitMQ, and an orderly exit on SIGTERM that
 * releases the Lease.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { createTestNamespace, uniqueName } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';
import {
  REPO_ROOT,
  StatusConsumer,
  applyVideoCrd,
  clients,
  createVideo,
  getVideo,
  makeBuckets,
  s3,
  waitJobs,
  dropNamespace,
} from './helpers.js';
import { freePort } from '../../support/hostenv.js';

describe('operator process (operator/main.ts)', function () {
  this.timeout(60_000);
  const { kc, custom, batch, coordination } = clients();
  let ns: string;
  let child: ChildProcess | undefined;
  let consumer: StatusConsumer | undefined;
  let output = '';

  before(applyVideoCrd);

  beforeEach(async () => {
    ns = await createTestNamespace(kc, 'op-proc', { waitForServiceAccount: false });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error(`operator output:\n${output.slice(-6000)}`);
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
    }
    child = undefined;
    await consumer?.close();
    await dropNamespace(kc, custom, ns);
  });

  it('starts from its environment, leads, reconciles, publishes, and exits cleanly on SIGTERM', async () => {
    const buckets = await makeBuckets(s3());
    const port = await freePort();
    const exchange = uniqueName('videoflix-status-proc');
    consumer = new StatusConsumer(exchange);
    await consumer.connect();
    child = spawn(process.execPath, ['--import=tsx', path.join(REPO_ROOT, 'operator/main.ts')], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        LOG_LEVEL: 'info',
        WATCH_NAMESPACE: ns,
        POD_NAMESPACE: ns,
        POD_NAME: 'operator-proc-0',
        HTTP_PORT: String(port),
        HTTP_HOST: '127.0.0.1',
        S3_MEDIA_BUCKET: buckets.media,
        S3_SOURCE_BUCKET: buckets.sources,
        AMQP_EXCHANGE: exchange,
        TRANSCODER_IMAGE: 'videoflix-transcoder:proc',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, {
      timeoutMs: 30_000,
      what: `/readyz (output: ${output.slice(-500)})`,
    });
    await waitFor(
      async () =>
        (await fetch(`${url}/metrics`)).text().then((t) => t.includes('videoflix_operator_leader 1')),
      { what: 'leader' },
    );
    // The Lease is read until it names the holder: in about 1 of 20 runs on a freshly started host
    // tier the first read right after the metric said "leader" answered 404 (not understood yet; the
    // operator's output is printed when this test fails).
    const lease = await waitFor(
      async () =>
        coordination
          .readNamespacedLease({ name: 'videoflix-operator', namespace: ns })
          .catch((err: { code?: number }) => {
            if (err.code === 404) return undefined;
            throw err;
          }),
      { timeoutMs: 10_000, what: `Lease ${ns}/videoflix-operator` },
    );
    expect(lease.spec?.holderIdentity).to.equal('operator-proc-0');

    await createVideo(custom, ns, 'proc', { source: { bucket: buckets.sources, key: 'proc.mp4' } });
    const [job] = await waitJobs(batch, ns, ['proc-thumbnail']);
    expect(job!.spec?.template.spec?.containers[0]?.image).to.equal('videoflix-transcoder:proc');
    const uid = (await getVideo(custom, ns, 'proc')).metadata.uid!;
    await waitFor(() => consumer!.phases(uid).includes('Processing'), {
      what: 'Processing message from the process',
    });
    // The broker's confirm can reach the publisher after the consumer got the message.
    const metrics = await waitFor(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return /videoflix_operator_status_messages_total\{result="confirmed"\} [1-9]/.test(text)
          ? text
          : undefined;
      },
      { what: 'a confirmed status message in /metrics' },
    );
    expect(metrics).to.contain('process_cpu_seconds_total'); // default metrics on in main.ts

    // JSON logs.
    const firstLine = output.split('\n').find((l) => l.startsWith('{'));
    expect(JSON.parse(firstLine!)).to.include({ component: 'operator' });

    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child!.once('exit', (c) => r(c)));
    expect(code).to.equal(0);
    expect(output).to.contain('stopped');
    const released = await coordination.readNamespacedLease({ name: 'videoflix-operator', namespace: ns });
    expect(released.spec?.holderIdentity ?? '').to.equal('');
  });

  it('refuses a wrong configuration with a clear message and exit code 78', async () => {
    const proc = spawn(process.execPath, ['--import=tsx', path.join(REPO_ROOT, 'operator/main.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, S3_ACCESS_KEY: '', WORKERS: 'many', TRANSCODER_IMAGE_PULL_POLICY: 'Sometimes' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    expect(code).to.equal(78);
    expect(err)
      .to.contain('S3_ACCESS_KEY')
      .and.contain('WORKERS')
      .and.contain('TRANSCODER_IMAGE_PULL_POLICY');
  });
});
