import { expect } from 'chai';
import express from 'express';
import supertest from 'supertest';
import zlib from 'node:zlib';
import { chooseEncoding, ReadyListCache, weakEtag } from '../../../../api/catalog/list-cache.js';
import type { VideoListRow } from '../../../../api/models/video.js';

/** A catalog whose state the test moves: rows, this process's revision, the table's fingerprint. */
function fakeCatalog() {
  const state = {
    revision: 0,
    fp: 'a',
    rows: [] as VideoListRow[],
    reads: 0,
    fingerprints: 0,
    /** Resolves the pending reads (a read waits until released when `hold` is set). */
    hold: false,
    waiting: [] as Array<() => void>,
  };
  const catalog = {
    get revision() {
      return state.revision;
    },
    fingerprint: () => {
      state.fingerprints++;
      return Promise.resolve(state.fp);
    },
    listReadyRows: async () => {
      state.reads++;
      const rows = state.rows.slice();
      if (state.hold) await new Promise<void>((resolve) => state.waiting.push(resolve));
      return rows;
    },
  };
  return { state, catalog };
}

const row = (id: number, title = `t${id}`): VideoListRow => ({
  id,
  title,
  description: '',
  category: 'c',
  thumbnailKey: null,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, id)),
});

describe('api catalog: the shared list body (ReadyListCache)', function () {
  let now = 1_000_000;
  let variant = 1;
  const make = (catalog: ReturnType<typeof fakeCatalog>['catalog']) =>
    new ReadyListCache({
      catalog,
      render: (rows) => rows.map((r) => ({ id: r.id, title: r.title })),
      variant: () => variant,
      maxAgeMs: 30_000,
      now: () => now,
    });
  const json = (b: Buffer) => JSON.parse(b.toString('utf8')) as unknown;

  it('builds the body once for a state and answers every request with the same bytes', async function () {
    const { state, catalog } = fakeCatalog();
    state.rows = [row(2), row(1)];
    const cache = make(catalog);
    const a = await cache.get();
    const b = await cache.get();
    expect(b).to.equal(a);
    expect(state.reads).to.equal(1);
    expect(json(a.body)).to.deep.equal([
      { id: 2, title: 't2' },
      { id: 1, title: 't1' },
    ]);
  });

  it("rebuilds after this process's write, another replica's write (fingerprint), a new expiry, and after maxAge", async function () {
    const { state, catalog } = fakeCatalog();
    state.rows = [row(1)];
    const cache = make(catalog);
    await cache.get();
    state.rows = [row(1, 'renamed')];
    state.revision++;
    expect(json((await cache.get()).body)).to.deep.equal([{ id: 1, title: 'renamed' }]);
    state.rows = [row(2), row(1, 'renamed')];
    state.fp = 'b';
    expect(json((await cache.get()).body)).to.have.length(2);
    expect(state.reads).to.equal(3);
    variant++;
    await cache.get();
    expect(state.reads).to.equal(4);
    now += 29_999;
    await cache.get();
    expect(state.reads).to.equal(4);
    now += 1;
    await cache.get();
    expect(state.reads).to.equal(5);
  });

  it('lets concurrent requests share one build, and keeps no body of a state a write overtook', async function () {
    const { state, catalog } = fakeCatalog();
    state.rows = [row(1)];
    state.hold = true;
    const cache = make(catalog);
    const all = Promise.all([cache.get(), cache.get(), cache.get()]);
    while (state.waiting.length === 0) await new Promise((r) => setImmediate(r));
    state.revision++; // a write of ours lands while the rows are being read
    state.hold = false;
    state.waiting.forEach((release) => release());
    const [a, b, c] = await all;
    expect(state.reads).to.equal(1);
    expect(b).to.equal(a);
    expect(c).to.equal(a);
    await cache.get(); // the new revision: read again
    expect(state.reads).to.equal(2);
    await cache.get();
    expect(state.reads).to.equal(2);
    expect(cache.builds).to.equal(2);
  });

  it('sends what res.json sent: the same bytes, Content-Type and ETag, and 304 for that ETag', async function () {
    const { state, catalog } = fakeCatalog();
    state.rows = [row(1, 'é "quoted" </script>'), row(2)];
    const cache = make(catalog);
    const value = state.rows.map((r) => ({ id: r.id, title: r.title }));
    const app = express();
    app.get('/json', (_req, res) => {
      res.json(value);
    });
    app.get('/cached', async (_req, res) => {
      const { body, etag } = await cache.get();
      res.set('Content-Type', 'application/json; charset=utf-8');
      res.set('ETag', etag);
      res.send(body);
    });
    const want = await supertest(app).get('/json').buffer(true).expect(200);
    const got = await supertest(app).get('/cached').buffer(true).expect(200);
    expect(got.text).to.equal(want.text);
    expect(got.headers['content-type']).to.equal(want.headers['content-type']);
    expect(got.headers['content-length']).to.equal(want.headers['content-length']);
    expect(got.headers.etag).to.be.a('string').and.equal(want.headers.etag);
    await supertest(app).get('/cached').set('If-None-Match', String(want.headers.etag)).expect(304);
    expect(weakEtag(Buffer.alloc(0))).to.equal('W/"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"');
  });

  it('does not keep a failed build', async function () {
    const { state, catalog } = fakeCatalog();
    let fail = true;
    const failing = {
      ...catalog,
      get revision() {
        return state.revision;
      },
      listReadyRows: () => (fail ? Promise.reject(new Error('db down')) : catalog.listReadyRows()),
    };
    const cache = make(failing);
    let err: unknown;
    await cache.get().catch((e: unknown) => (err = e));
    expect((err as Error).message).to.equal('db down');
    fail = false;
    expect(json((await cache.get()).body)).to.deep.equal([]);
  });

  it('keeps a brotli and a gzip form of each body, made once on first demand, that decompress to the JSON', async function () {
    const { state, catalog } = fakeCatalog();
    state.rows = Array.from({ length: 500 }, (_, i) => row(i + 1, `title of video ${i + 1}`));
    const cache = make(catalog);
    const plain = await cache.get('identity');
    expect(plain.encoding).to.equal('identity');
    const [br, br2, gz] = await Promise.all([cache.get('br'), cache.get('br'), cache.get('gzip')]);
    expect(br2).to.equal(br); // one compression for concurrent requests
    expect(br.encoding).to.equal('br');
    expect(gz.encoding).to.equal('gzip');
    expect(zlib.brotliDecompressSync(br.body).equals(plain.body)).to.equal(true);
    expect(zlib.gunzipSync(gz.body).equals(plain.body)).to.equal(true);
    expect(br.body.length).to.be.below(plain.body.length / 5);
    expect(gz.body.length).to.be.below(plain.body.length / 3);
    // an ETag per coding, each that of the bytes sent
    expect(new Set([plain.etag, br.etag, gz.etag]).size).to.equal(3);
    expect(br.etag).to.equal(weakEtag(br.body));
    expect(gz.etag).to.equal(weakEtag(gz.body));
    expect(await cache.get('br')).to.equal(br);

    // an unchanged catalog rebuilt after maxAge: same bytes, the compressed forms are kept
    now += 30_000;
    expect((await cache.get('identity')).etag).to.equal(plain.etag);
    expect(state.reads).to.equal(2);
    expect(await cache.get('br')).to.equal(br);
    // a changed catalog: compressed again, from the new body
    state.rows = [row(1, 'only one')];
    state.revision++;
    const br3 = await cache.get('br');
    expect(br3).to.not.equal(br);
    expect(json(zlib.brotliDecompressSync(br3.body))).to.deep.equal([{ id: 1, title: 'only one' }]);
  });

  it('chooses the coding by Accept-Encoding: q-values honoured, br first at equal q, identity otherwise', function () {
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'identity'],
      ['', 'identity'],
      ['gzip, deflate, br, zstd', 'br'], // what browsers send: br at equal q
      ['gzip, deflate', 'gzip'], // superagent's default
      ['GZIP', 'gzip'],
      ['br;q=0.5, gzip', 'gzip'],
      ['br;q=0.9, gzip;q=0.8', 'br'],
      ['gzip;q=0.5, identity', 'identity'],
      ['*', 'br'],
      ['br;q=0, *;q=0.1', 'gzip'],
      ['gzip;q=0, br;q=0', 'identity'],
      ['identity;q=0', 'identity'], // refused everything: identity anyway (RFC 9110 § 12.5.3)
      ['zstd', 'identity'], // an unknown coding
      ['compress, x-gzip', 'identity'],
      ['garbage;;;q=x, ,,', 'identity'],
    ];
    for (const [header, want] of cases) expect(chooseEncoding(header), String(header)).to.equal(want);
  });

  it('follows the change feed while it listens: a notification rebuilds at once, the fingerprint is asked once per recheckMs', async function () {
    const { state, catalog } = fakeCatalog();
    state.rows = [row(1)];
    const feed = { generation: 0, listening: true };
    const cache = new ReadyListCache({
      catalog,
      render: (rows) => rows.map((r) => ({ id: r.id, title: r.title })),
      variant: () => 1,
      changes: feed,
      recheckMs: 5000,
      now: () => now,
    });
    await cache.get();
    for (let i = 0; i < 20; i++) await cache.get('br');
    expect(state.fingerprints).to.equal(1);
    expect(state.reads).to.equal(1);
    // another replica's write: the table's trigger notifies, the generation moves, the next request rebuilds
    state.rows = [row(1, 'renamed elsewhere')];
    feed.generation++;
    expect(json((await cache.get()).body)).to.deep.equal([{ id: 1, title: 'renamed elsewhere' }]);
    expect(state.fingerprints).to.equal(1);
    // a notification that never came: seen by the fingerprint within recheckMs
    state.rows = [row(2), row(1, 'renamed elsewhere')];
    state.fp = 'changed quietly';
    now += 4999;
    expect(json((await cache.get()).body)).to.have.length(1);
    now += 1;
    expect(json((await cache.get()).body)).to.have.length(2);
    expect(state.fingerprints).to.equal(2);
    // the feed's session lost: the fingerprint on every request again
    feed.listening = false;
    await cache.get();
    await cache.get();
    expect(state.fingerprints).to.equal(4);
  });
});
