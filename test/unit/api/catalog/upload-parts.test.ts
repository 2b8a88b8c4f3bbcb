import { expect } from 'chai';
import type { Client } from 'minio';
import { ObjectStorage, UploadTooLargeError } from '../../../../api/infra/storage.js';

const PART = 5 * 1024 * 1024;

/** A minio client stand-in: keeps a copy of each part's bytes and which Buffer memory it was sent from. */
function fakeClient(opts: { failPart?: number } = {}) {
  const s = {
    parts: new Map<number, Buffer>(),
    memory: new Set<ArrayBufferLike>(),
    inFlight: 0,
    maxInFlight: 0,
    completed: undefined as Array<{ part: number; etag: string }> | undefined,
    aborted: 0,
    put: undefined as Buffer | undefined,
  };
  const client = {
    initiateNewMultipartUpload: () => Promise.resolve('upload-1'),
    uploadPart: async (o: { partNumber: number; headers: { 'Content-Length': number } }, body: Buffer) => {
      expect(body.length).to.equal(o.headers['Content-Length']);
      s.memory.add(body.buffer);
      s.inFlight++;
      s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
      await new Promise((r) => setTimeout(r, 2));
      s.inFlight--;
      if (o.partNumber === opts.failPart) throw Object.assign(new Error('boom'), { name: 'S3Error' });
      s.parts.set(o.partNumber, Buffer.from(body)); // the copy S3 would have
      return { etag: `e${o.partNumber}` };
    },
    completeMultipartUpload: (
      _b: string,
      _k: string,
      _id: string,
      parts: Array<{ part: number; etag: string }>,
    ) => {
      s.completed = parts;
      return Promise.resolve({});
    },
    abortMultipartUpload: () => {
      s.aborted++;
      return Promise.resolve();
    },
    putObject: (_b: string, _k: string, body: Buffer) => {
      s.put = Buffer.from(body);
      return Promise.resolve({});
    },
  };
  return { s, client: client as unknown as Client };
}

/** `total` bytes of a recognisable pattern in chunks of odd sizes (as a socket delivers them). */
const PATTERN = Buffer.from(Array.from({ length: 65_521 + 251 }, (_, i) => i % 251));
async function* source(total: number, chunk = 65_521): AsyncGenerator<Buffer> {
  for (let at = 0; at < total; at += chunk) {
    const n = Math.min(chunk, total - at);
    yield Buffer.from(PATTERN.subarray(at % 251, (at % 251) + n)); // a fresh buffer, as a socket gives
  }
}

async function expected(total: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of source(total)) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('api catalog: multipart upload with reused part buffers', function () {
  it('sends the bytes in order from at most partsInFlight + 1 buffers, whatever the size', async function () {
    const { s, client } = fakeClient();
    const total = 9 * PART + 12_345;
    const res = await new ObjectStorage(client, PART, 2).upload('b', 'k', source(total), { maxBytes: total });
    expect(res.size).to.equal(total);
    expect(s.completed!.map((p) => p.part)).to.deep.equal([...Array(10).keys()].map((i) => i + 1));
    const joined = Buffer.concat([...s.parts.keys()].sort((a, b) => a - b).map((n) => s.parts.get(n)!));
    expect(joined.equals(await expected(total))).to.equal(true);
    expect(s.memory.size).to.be.at.most(3);
    expect(s.maxInFlight).to.equal(2);
    expect(s.aborted).to.equal(0);
  });

  it('sends one part at a time with partsInFlight 1 (two buffers)', async function () {
    const { s, client } = fakeClient();
    const total = 4 * PART;
    await new ObjectStorage(client, PART, 1).upload('b', 'k', source(total), { maxBytes: total });
    expect(s.completed).to.have.length(4);
    expect(s.memory.size).to.be.at.most(2);
    expect(s.maxInFlight).to.equal(1);
  });

  it('puts a source smaller than a part in one request', async function () {
    const { s, client } = fakeClient();
    await new ObjectStorage(client, PART, 2).upload('b', 'k', source(1000), { maxBytes: PART });
    expect(s.put!.equals(await expected(1000))).to.equal(true);
    expect(s.completed).to.equal(undefined);
  });

  it('aborts and never completes when a part fails, even one that failed while the next filled', async function () {
    const { s, client } = fakeClient({ failPart: 2 });
    const total = 6 * PART;
    let err: unknown;
    await new ObjectStorage(client, PART, 2)
      .upload('b', 'k', source(total), { maxBytes: total })
      .catch((e: unknown) => (err = e));
    expect((err as Error)?.name).to.equal('StorageError');
    expect(s.completed).to.equal(undefined);
    expect(s.aborted).to.equal(1);
  });

  it('aborts when the source is larger than allowed', async function () {
    const { s, client } = fakeClient();
    let err: unknown;
    await new ObjectStorage(client, PART, 2)
      .upload('b', 'k', source(3 * PART), { maxBytes: 2 * PART + 1 })
      .catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(UploadTooLargeError);
    expect(s.completed).to.equal(undefined);
    expect(s.aborted).to.equal(1);
  });
});
