/**
 * The chart's side of the attacks on the running platform: the mail catcher's inbox (where every
 * activation and reset link lands) is closed without its credentials, and absent from a default install;
 * a Video naming another bucket than the sources bucket is refused by the API server (the chart's
 * ValidatingAdmissionPolicy) with a message.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { CHART, helm, offlineValues, parseManifests } from '../e2e/chart/helpers.js';
import { NS, kubectlAsync, operatorSettings } from '../support/platform.js';
import { call, platform } from './support.js';

describe('attack: the mail catcher and the Video source bucket', () => {
  it("refuses the mail catcher's inbox and REST API through the ingress without its credentials", async () => {
    const e = await platform();
    const base = new URL(e.MAIL_API_URL).pathname.replace(/\/api\/?$/, '');
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    for (const path of [`${base}/api/email`, `${base}/`, `${base}/index.html`, `${base}/api/email/all`]) {
      for (const auth of [undefined, basic(e.MAIL_USER, 'wrong'), basic('admin', 'admin'), basic('', '')]) {
        const r = await call('GET', path, { headers: auth ? { authorization: auth } : {} });
        expect(r.status, `${path} with ${auth ?? 'no credentials'}`).to.equal(401);
        expect(r.text).not.to.match(/token=|uid=/);
      }
    }
    const del = await call('DELETE', `${base}/api/email/all`);
    expect(del.status).to.equal(401);
    const ok = await call('GET', `${base}/api/email`, {
      headers: { authorization: basic(e.MAIL_USER, e.MAIL_PASSWORD) },
    });
    expect(ok.status).to.equal(200);
  });

  it('installs no mail catcher with the default values (no Deployment, Service or Ingress for it)', async () => {
    const objects = parseManifests(await helm(['template', 'videoflix', CHART, ...offlineValues(undefined)]));
    expect(
      objects.filter((o) => /maildev/.test(o.metadata.name)).map((o) => `${o.kind}/${o.metadata.name}`),
    ).to.deep.equal([]);
  });

  it('refuses a Video naming another bucket than the sources bucket, and admits the sources bucket', async () => {
    const settings = await operatorSettings();
    const video = (bucket: string) =>
      JSON.stringify({
        apiVersion: 'media.videoflix.io/v1beta1',
        kind: 'Video',
        metadata: { name: `attack-${randomBytes(3).toString('hex')}`, namespace: NS },
        spec: { title: 'attack', source: { bucket, key: 'x/master.m3u8' } },
      });
    for (const bucket of [settings.mediaBucket, 'another-tenant', `${settings.sourceBucket}-x`]) {
      const err = await kubectlAsync(['apply', '--dry-run=server', '-f', '-'], { input: video(bucket) }).then(
        () => 'accepted',
        (e: Error) => e.message,
      );
      expect(err, bucket).to.match(/is not allowed: a Video may only name the sources bucket/);
    }
    const ok = await kubectlAsync(['apply', '--dry-run=server', '-f', '-'], {
      input: video(settings.sourceBucket),
    });
    expect(ok).to.match(/created \(server dry run\)/);
  });
});
