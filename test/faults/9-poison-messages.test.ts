/**
 * Fault 9 (issue 20): status messages the operator could have sent, published straight to the exchange as
 * the operator's user: a poison message (passes the schema, cannot be stored: its uid is not a UUID), the
 * same message delivered twice, and two messages out of order (the newer one first). The catalog ends right
 * (the newest sequence wins), messages behind the poison are handled within seconds (the queue never
 * blocks), and the poison stops being retried after a few tries (dead-lettered), which the API's own log
 * shows: no retry of it in the last 10 s of a 40 s window.
 */
import { expect } from 'chai';
import { ANNOTATIONS } from '../../common/video/index.js';
import { createMediaDir, type MediaDir } from '../support/media.js';
import { kubectlAsync } from '../support/platform.js';
import { waitFor } from '../support/waiters.js';
import {
  componentEnv,
  NS,
  Platform,
  readyPod,
  scenario,
  seconds,
  SETTLE_TIMEOUT_MS,
  sleep,
  videoResource,
  withBroker,
  faultIt,
} from './support.js';

describe('fault 9: poison, duplicate and out-of-order status messages', function () {
  let p: Platform;
  let media: MediaDir;
  const tag = Date.now().toString(36);

  before(async function () {
    this.timeout(90 * 60_000);
    p = await Platform.open();
    media = await createMediaDir('videoflix-faults-9-');
  });

  after(async function () {
    await media?.cleanup();
    await p?.close();
  });

  faultIt('9 the catalog ends right, the queue never blocks, the poison is dead-lettered', async function () {
    const fig = scenario(
      this,
      '9',
      'poison, duplicate and out-of-order status messages',
      'newest sequence wins, a message behind the poison handled within seconds, the poison not retried forever',
    );
    const clip = await media.clip({ durationSec: 2, width: 320, height: 240 });
    const id = await p.upload(clip, `faults 9 ${tag}`);
    const name = await p.resourceName(id);
    await p.waitPhase(id, 'Ready', SETTLE_TIMEOUT_MS);
    const v = (await videoResource(name)) as Awaited<ReturnType<typeof videoResource>> & {
      metadata: { annotations?: Record<string, string>; resourceVersion?: string };
    };
    const exchange = await componentEnv('operator', 'AMQP_EXCHANGE').catch(() => 'videoflix.video-status');
    // above any sequence and resourceVersion the operator sent: later statuses of the resource (the catalog
    // compares resourceVersions first, then sequences)
    const base = Date.now() * 10;
    const rv = BigInt(v.metadata.resourceVersion ?? '1');
    const message = (title: string, bump: number, uid = v.metadata.uid) => ({
      namespace: NS,
      name,
      uid,
      catalogId: Number(v.metadata.annotations?.[ANNOTATIONS.catalogId] ?? id),
      generation: v.metadata.generation ?? 1,
      resourceVersion: String(rv + 1000n + BigInt(bump)),
      phase: 'Ready',
      title,
      description: 'published by test/faults/9-poison-messages.test.ts',
      category: 'Faults',
      masterPlaylistKey: v.status?.masterPlaylistKey,
      renditions: v.status?.renditions ?? [],
      observedAt: new Date().toISOString(),
      sequence: base + bump,
    });
    const poisonUid = `faults-poison-${tag}`;
    const sent = Date.now();
    await withBroker('operator', async (ch) => {
      const publish = (m: ReturnType<typeof message>, messageId = `${m.uid}:${m.sequence}`) =>
        ch.publish(exchange, 'video.ready', Buffer.from(JSON.stringify(m)), {
          persistent: true,
          contentType: 'application/json',
          type: 'video.status',
          messageId,
        });
      publish(message(`faults 9 ${tag} poison-id`, 0, poisonUid));
      const dup = message(`faults 9 ${tag} duplicate`, 10);
      publish(dup);
      publish(dup);
      publish(message(`faults 9 ${tag} newest`, 30));
      publish(message(`faults 9 ${tag} older`, 20)); // arrives last, is older: ignored
      await ch.waitForConfirms();
    });

    // the messages behind the poison are handled within seconds; the newest sequence wins
    const row = await waitFor(
      async () => {
        const r = await p.row(id);
        if (r?.title === `faults 9 ${tag} newest` && r.phase === 'Ready') return r;
        throw new Error(`row ${JSON.stringify(r && { title: r.title, phase: r.phase })}`);
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `catalog row ${id} titled "newest"` },
    ).catch((err: Error) => err);
    fig.handledAfterSeconds = seconds(Date.now() - sent);
    await sleep(5000); // the "older" message, if it were applied, would land by now
    const final = await p.row(id);
    fig.wrongFinalState = final?.title === `faults 9 ${tag} newest` && final.phase === 'Ready' ? 0 : 1;
    expect(row, `the messages behind the poison`).to.not.be.instanceOf(Error);
    expect(final?.title, 'the newest sequence wins over the older one delivered after it').to.equal(
      `faults 9 ${tag} newest`,
    );

    // the poison is not retried forever: none of its retries in the last 10 s of a 40 s window
    await sleep(Math.max(0, 40_000 - (Date.now() - sent)));
    const api = (await readyPod('api'))!;
    const recent = await kubectlAsync(['logs', '-n', NS, api.name, '-c', 'api', '--since=10s']);
    const total = await kubectlAsync(['logs', '-n', NS, api.name, '-c', 'api', '--since=60s']);
    const retries = (log: string) => log.split('\n').filter((l) => l.includes(poisonUid)).length;
    fig.poisonLogLines = retries(total);
    fig.poisonRetriesLast10s = retries(recent);
    expect(
      fig.poisonRetriesLast10s,
      `log lines about ${poisonUid} in the last 10 s (dead-lettered after a few tries)`,
    ).to.equal(0);
  });
});
