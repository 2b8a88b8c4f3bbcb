/**
 * api/main.ts with the catalog on, as a deployment runs it: the resync at start-up picks up a Video
 * created with kubectl, the status consumer applies a message, and SIGTERM stops both in order.
 */
import { expect } from 'chai';
import { waitFor } from '../../../support/waiters.js';
import { freePort, startCommand, untilReady } from '../helpers/process.js';
import {
  createVideoResource,
  laterVersion,
  mainEnv,
  startHarness,
  statusMessage,
  type Harness,
} from './helpers.js';

describe('api catalog: main.ts wires the consumer and the resync', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async function () {
    h = await startHarness('process');
  });
  after(async function () {
    await h?.close();
  });

  it('resyncs at start, consumes status messages, serves the routes and stops both on SIGTERM', async function () {
    const video = await createVideoResource(h, { title: 'Before the API started' });
    const port = await freePort();
    const app = startCommand('api/main.ts', [], mainEnv(h, port, { LOG_LEVEL: 'info' }));
    try {
      await untilReady(
        app,
        `http://127.0.0.1:${port}/readyz`,
        'main.ts ready (a loaded machine compiles slowly under tsx)',
      );
      const row = await waitFor(() => h.Video.findOne({ where: { uid: video.metadata.uid! } }), {
        timeoutMs: 15_000,
        what: `the start-up resync to add the kubectl-created Video; output: ${app.output().slice(-2000)}`,
      });
      expect(row.title).to.equal('Before the API started');
      await waitFor(() => app.output().includes('status consumer connected'), {
        what: 'the consumer connected',
      });
      await h.publish(
        statusMessage(video, {
          phase: 'Processing',
          resourceVersion: laterVersion(video.metadata.resourceVersion!),
        }),
      );
      await waitFor(async () => (await h.Video.findByPk(row.id))?.phase === 'Processing', {
        what: 'the message applied by main.ts',
      });
      expect((await fetch(`http://127.0.0.1:${port}/api/video/`)).status).to.equal(401);
      const docs = (await (await fetch(`http://127.0.0.1:${port}/api/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      expect(docs.paths).to.have.property('/api/admin/videos/');

      app.child.kill('SIGTERM');
      const ran = await app.done;
      expect(ran.code, ran.stderr).to.equal(0);
      const msgs = ran.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(msgs).to.include('catalog resync');
      expect(msgs.indexOf('shutting down')).to.be.lessThan(msgs.indexOf('stopped'));
      expect(msgs).to.not.include('catalog disabled: S3_ACCESS_KEY and S3_SECRET_KEY are not set');
    } finally {
      app.child.kill('SIGKILL');
    }
  });
});
