/**
 * GET /api/video/ compressed (issue 23): the real app on the host tier's PostgreSQL, the raw bytes
 * read over a socket (node:http does not decode), decoded here and compared with the JSON; an ETag
 * per coding and 304 for each; an unknown or refused coding gets the JSON itself. And the list's
 * change feed (migration 0006's triggers → NOTIFY → api/catalog/changes.ts): a write no fingerprint
 * can see shows at once, also after the listening session was killed.
 */
import { expect } from 'chai';
import http from 'node:http';
import zlib from 'node:zlib';
import { waitFor } from '../../../support/waiters.js';
import { startHarness, type Harness } from './helpers.js';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const ROWS = 400;

describe('api catalog: the list compressed once per catalog state (br, gzip, identity)', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async function () {
    h = await startHarness('listenc');
    await h.db.sequelize.query(`
      INSERT INTO videos (title, description, category, namespace, name, uid, phase, renditions,
                          master_playlist_key, thumbnail_key, duration_seconds, created_at, updated_at)
      SELECT 'Video ' || i || ' "quoted" é', 'A description, ' || i, 'Drama', 'ns', 'v-' || i,
             gen_random_uuid(), CASE WHEN i % 10 = 0 THEN 'Processing' ELSE 'Ready' END, '[]'::jsonb,
             'x/master.m3u8', CASE WHEN i % 3 = 0 THEN NULL ELSE 'x/thumbnail.jpg' END, 30,
             now() - (i || ' seconds')::interval, now()
      FROM generate_series(1, ${ROWS}) AS i`);
  });
  after(async function () {
    await h?.close();
  });

  const raw = (headers: Record<string, string>, method = 'GET') =>
    new Promise<Raw>((resolve, reject) => {
      const req = http.request(
        `${h.baseUrl}/api/video/`,
        { method, headers: { cookie: h.userCookie, ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  const decode = (r: Raw): Buffer => {
    const enc = r.headers['content-encoding'];
    if (enc === 'br') return zlib.brotliDecompressSync(r.body);
    if (enc === 'gzip') return zlib.gunzipSync(r.body);
    expect(enc, 'content-encoding').to.equal(undefined);
    return r.body;
  };

  it('sends br or gzip as asked, with Vary, its own ETag and the length of the bytes sent; decoded, the same JSON', async function () {
    const plain = await raw({});
    expect(plain.status).to.equal(200);
    expect(plain.headers['content-encoding']).to.equal(undefined);
    expect(plain.headers['content-type']).to.equal('application/json; charset=utf-8');
    expect(plain.headers.vary).to.match(/Accept-Encoding/i);
    expect(Number(plain.headers['content-length'])).to.equal(plain.body.length);
    const list = JSON.parse(plain.body.toString('utf8')) as Array<Record<string, unknown>>;
    expect(list).to.have.length(ROWS - ROWS / 10);
    expect(Object.keys(list[0]!).join(' ')).to.equal(
      'id created_at title description thumbnail_url category',
    );
    const etags = new Set([plain.headers.etag]);
    for (const [header, want] of [
      ['br', 'br'],
      ['gzip, deflate, br, zstd', 'br'],
      ['gzip', 'gzip'],
      ['br;q=0.2, gzip;q=0.8', 'gzip'],
    ] as const) {
      const r = await raw({ 'accept-encoding': header });
      expect(r.status, header).to.equal(200);
      expect(r.headers['content-encoding'], header).to.equal(want);
      expect(r.headers.vary, header).to.match(/Accept-Encoding/i);
      expect(r.headers['content-type']).to.equal('application/json; charset=utf-8');
      expect(Number(r.headers['content-length']), header).to.equal(r.body.length);
      expect(r.body.length, header).to.be.below(plain.body.length / 3);
      expect(decode(r).equals(plain.body), header).to.equal(true);
      etags.add(r.headers.etag);
    }
    expect(etags.size, 'one ETag per coding').to.equal(3);
  });

  it('answers 304 to the ETag of the coding it would send, 200 with the body otherwise', async function () {
    const br = await raw({ 'accept-encoding': 'br' });
    const gz = await raw({ 'accept-encoding': 'gzip' });
    const plain = await raw({ 'accept-encoding': 'identity' });
    for (const [enc, r] of [
      ['br', br],
      ['gzip', gz],
      ['identity', plain],
    ] as const) {
      const again = await raw({ 'accept-encoding': enc, 'if-none-match': String(r.headers.etag) });
      expect(again.status, enc).to.equal(304);
      expect(again.body.length, enc).to.equal(0);
      expect(again.headers.etag, enc).to.equal(r.headers.etag);
      expect(again.headers.vary, enc).to.match(/Accept-Encoding/i);
    }
    // a gzip validator sent while asking for br: the br body, not a 304 for bytes the client lacks
    const cross = await raw({ 'accept-encoding': 'br', 'if-none-match': String(gz.headers.etag) });
    expect(cross.status).to.equal(200);
    expect(cross.headers['content-encoding']).to.equal('br');
    expect(decode(cross).equals(plain.body)).to.equal(true);
  });

  it('sends the JSON itself for an unknown, a refused or a malformed coding, and to HEAD only the headers', async function () {
    const plain = await raw({});
    for (const header of ['zstd', 'compress', 'br;q=0, gzip;q=0', 'identity;q=0', ';;;q=x, ,']) {
      const r = await raw({ 'accept-encoding': header });
      expect(r.status, header).to.equal(200);
      expect(r.headers['content-encoding'], header).to.equal(undefined);
      expect(r.body.equals(plain.body), header).to.equal(true);
    }
    const head = await raw({ 'accept-encoding': 'br' }, 'HEAD');
    const br = await raw({ 'accept-encoding': 'br' });
    expect(head.status).to.equal(200);
    expect(head.body.length).to.equal(0);
    expect(head.headers['content-encoding']).to.equal('br');
    expect(head.headers['content-length']).to.equal(String(br.body.length));
    expect(head.headers.etag).to.equal(br.headers.etag);
  });

  it('sends a new body, compressed, after a write (another replica writing straight to the table)', async function () {
    const before = await raw({ 'accept-encoding': 'br' });
    await h.Video.update({ title: 'Renamed elsewhere' }, { where: { name: 'v-1' } });
    const after = await raw({ 'accept-encoding': 'br' });
    expect(after.headers.etag).to.not.equal(before.headers.etag);
    const list = JSON.parse(decode(after).toString('utf8')) as Array<{ title: string }>;
    expect(list[0]!.title).to.equal('Renamed elsewhere');
  });

  it('refuses the list without a session (401), compressed or not', async function () {
    const r = await new Promise<number>((resolve, reject) => {
      http
        .get(`${h.baseUrl}/api/video/`, { headers: { 'accept-encoding': 'br' } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        })
        .on('error', reject);
    });
    expect(r).to.equal(401);
  });

  describe('the change feed (LISTEN/NOTIFY) across replicas', function () {
    before(async function () {
      h.catalog.changes.start();
      await waitFor(() => h.catalog.changes.listening, { what: 'the change listener listening' });
    });

    const titleOfNewest = async () =>
      (
        JSON.parse(decode(await raw({ 'accept-encoding': 'gzip' })).toString('utf8')) as Array<{
          title: string;
        }>
      )[0]!.title;
    // what another writer does without moving the fingerprint (count and max(updated_at) unchanged):
    // only the notification can tell this replica
    const renameQuietly = (title: string) =>
      h.db.sequelize.query(`UPDATE videos SET title = :title WHERE name = 'v-1'`, {
        replacements: { title },
      });
    /** Renames quietly, waits for this replica's notification, and expects the list to show it at once. */
    const renamedAndNotified = async (title: string) => {
      const generation = h.catalog.changes.generation;
      await renameQuietly(title);
      await waitFor(() => h.catalog.changes.generation > generation, {
        what: 'the notification',
        timeoutMs: 5000,
      });
      expect(await titleOfNewest()).to.equal(title);
    };

    it('shows a write that leaves the fingerprint unchanged at once (the trigger notified this replica)', async function () {
      await titleOfNewest(); // the body of the current state is built and kept
      await renamedAndNotified('Quiet rename 1');
    });

    it('is not told of writes to rows the list does not show (a video still processing)', async function () {
      const generation = h.catalog.changes.generation;
      const [, n] = (await h.db.sequelize.query(
        `UPDATE videos SET title = 'progress', updated_at = now() WHERE name = 'v-10' AND phase = 'Processing'`,
      )) as unknown as [unknown, { rowCount: number }];
      expect(n.rowCount).to.equal(1);
      await renamedAndNotified('Quiet rename after'); // a notification that follows arrives …
      expect(h.catalog.changes.generation).to.equal(generation + 1); // … and was the only one
    });

    it('keeps the list right while its session is killed, and listens again', async function () {
      const [killed] = (await h.db.sequelize.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE '%-listen'`,
      )) as unknown as [Array<{ ok: boolean }>];
      expect(killed.length, 'the listening session').to.equal(1);
      await renameQuietly('Quiet rename 2'); // while no session listens, or right after it is back
      await waitFor(async () => (await titleOfNewest()) === 'Quiet rename 2', {
        what: 'the rename after the session was killed',
        timeoutMs: 10_000,
      });
      await waitFor(() => h.catalog.changes.listening, { what: 'listening again', timeoutMs: 30_000 });
      await renamedAndNotified('Quiet rename 3');
    });
  });
});
