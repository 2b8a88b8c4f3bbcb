/**
 * The resumable-upload store (api/catalog/routes/resumable-store.ts) against the real S3 server
 * of the host tier: part uploads that land out of order — one fails, or its process dies, while a
 * later one of the same PATCH reaches S3 — must leave an offset that is an intact prefix of the
 * file, and the resumed upload must be the file byte for byte. Faults are injected at the S3
 * client (the UploadPart call), so everything above it is the code the API runs.
 */
import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { S3Store } from '@tus/s3-store';
import { Upload } from '@tus/server';
import type { Client } from 'minio';
import { createS3Client } from '../../../../common/storage/index.js';
import { OrderedS3Store } from '../../../../api/catalog/routes/resumable-store.js';
import { objectHash, sha256 } from './helpers.js';

const P = 5 * 1024 * 1024; // the smallest part S3 allows
const REGION = process.env.S3_REGION ?? 'us-east-1';

type UploadPart = (input: { PartNumber?: number }) => Promise<unknown>;
/** Decides what happens to part `n`: `send` runs the real UploadPart. */
type Fault = (n: number, send: () => Promise<unknown>) => Promise<unknown>;

/** The store with a fault between it and S3 (a new instance is a restarted process: no cache). */
const storeOptions = (bucket: string, partSize = P) => ({
  partSize,
  maxConcurrentPartUploads: 4,
  useTags: false,
  s3ClientConfig: {
    bucket,
    endpoint: process.env.S3_ENDPOINT!,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: process.env.S3_ACCESS_KEY!, secretAccessKey: process.env.S3_SECRET_KEY! },
  },
});

class FaultyStore extends OrderedS3Store {
  constructor(bucket: string, fault?: Fault) {
    super(storeOptions(bucket));
    if (fault) {
      const real = this.client.uploadPart.bind(this.client) as UploadPart;
      (this.client as unknown as { uploadPart: UploadPart }).uploadPart = (input) =>
        fault(input.PartNumber!, () => real(input));
    }
  }
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const exists = (s3: Client, bucket: string, key: string) =>
  s3.statObject(bucket, key).then(
    () => true,
    () => false,
  );

describe('api catalog: the resumable-upload store with parts landing out of order (real S3)', function () {
  this.timeout(120_000);
  let s3: Client;
  const bucket = `tus-order-${randomUUID().slice(0, 8)}`;
  const file = randomBytes(6 * P);
  const firstPatch = file.subarray(0, 3.5 * P); // parts 1-3 and a 2.5 MiB tail

  before(async () => {
    s3 = createS3Client({
      S3_ENDPOINT: process.env.S3_ENDPOINT!,
      S3_REGION: REGION,
      S3_ACCESS_KEY: process.env.S3_ACCESS_KEY!,
      S3_SECRET_KEY: process.env.S3_SECRET_KEY!,
    });
    await s3.makeBucket(bucket, REGION);
  });

  async function created(): Promise<string> {
    const id = `${randomUUID()}/source`;
    await new FaultyStore(bucket).create(new Upload({ id, size: file.length, offset: 0, metadata: {} }));
    return id;
  }

  /** Resumes on a new store (a restarted Pod) from the offset it reports, and checks the object. */
  async function resumeAndCheck(id: string) {
    const store = new FaultyStore(bucket);
    const { offset } = await store.getUpload(id);
    expect(offset, 'the offset after the fault: part 1 only').to.equal(P);
    expect(await exists(s3, bucket, `${id}.part`), 'an incomplete part past the failed part').to.equal(false);
    expect(await store.write(Readable.from([file.subarray(offset)]), id, offset)).to.equal(file.length);
    expect((await store.getUpload(id)).offset).to.equal(file.length);
    expect(await objectHash(s3, bucket, id)).to.deep.equal({ hash: sha256(file), size: file.length });
  }

  it('part 2 fails after part 3 reached S3: the offset stops at part 1, the tail is not kept, the resumed file is intact', async () => {
    const id = await created();
    const third = deferred();
    const store = new FaultyStore(bucket, async (n, send) => {
      if (n === 2) {
        await third.promise;
        throw new Error('injected: part 2 refused');
      }
      const sent = await send();
      if (n === 3) third.resolve();
      return sent;
    });
    let failure: unknown;
    await store.write(Readable.from([firstPatch]), id, 0).catch((err: unknown) => (failure = err));
    expect(String(failure)).to.contain('injected: part 2 refused');
    await resumeAndCheck(id);
  });

  it('the process dies with part 2 in flight and part 3 on S3: a new process resumes from part 1 and the file is intact', async () => {
    const id = await created();
    const third = deferred();
    const store = new FaultyStore(bucket, async (n, send) => {
      if (n === 2) return new Promise(() => undefined); // never answers: the Pod was killed
      const sent = await send();
      if (n === 3) third.resolve();
      return sent;
    });
    void store.write(Readable.from([firstPatch]), id, 0).catch(() => undefined);
    await third.promise;
    // the incomplete part waits for part 2, which never comes: give it time to (wrongly) be stored
    await new Promise((r) => setTimeout(r, 500));
    await resumeAndCheck(id);
  });

  it('finishes an upload begun before the fixed part size (a short part inside the run) with the exact bytes', async () => {
    // the plain store (minPartSize 5 MiB) makes a PATCH's 6 MiB tail a part of its own
    const part = 8 * 1024 * 1024;
    const id = `${randomUUID()}/source`;
    const old = new S3Store(storeOptions(bucket, part));
    await old.create(new Upload({ id, size: file.length, offset: 0, metadata: {} }));
    expect(await old.write(Readable.from([file.subarray(0, 14 * 1024 * 1024)]), id, 0)).to.equal(
      14 * 1024 * 1024,
    );
    // the upgraded API goes on from there
    const store = new OrderedS3Store(storeOptions(bucket, part));
    const { offset } = await store.getUpload(id);
    expect(offset).to.equal(14 * 1024 * 1024);
    expect(await store.write(Readable.from([file.subarray(offset)]), id, offset)).to.equal(file.length);
    expect(await objectHash(s3, bucket, id)).to.deep.equal({ hash: sha256(file), size: file.length });
  });
});
