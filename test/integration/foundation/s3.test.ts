/**
 * An object round-trips through versitygw with the `minio` client the product uses, and through
 * presigned GET and PUT URLs used with fetch; a wrong secret is refused.
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { expect } from 'chai';
import * as Minio from 'minio';

function client(secretKey = process.env.S3_SECRET_KEY ?? ''): Minio.Client {
  const url = new URL(process.env.S3_ENDPOINT ?? '');
  return new Minio.Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: url.protocol === 'https:',
    accessKey: process.env.S3_ACCESS_KEY ?? '',
    secretKey,
    region: process.env.S3_REGION,
    pathStyle: true,
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

const md5 = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');

describe('foundation: S3 (versitygw) with the minio client', function () {
  const s3 = client();
  const bucket = `foundation-${crypto.randomBytes(4).toString('hex')}`;
  const body = crypto.randomBytes(256 * 1024 + 7);

  before(async function () {
    await s3.makeBucket(bucket, process.env.S3_REGION);
  });

  after(async function () {
    const names: string[] = [];
    for await (const item of s3.listObjectsV2(bucket, '', true)) names.push((item as { name: string }).name);
    if (names.length) await s3.removeObjects(bucket, names);
    await s3.removeBucket(bucket);
  });

  it('stores and returns an object with its content type', async function () {
    expect(await s3.bucketExists(bucket)).to.equal(true);
    await s3.putObject(bucket, 'dir/blob.bin', body, body.length, { 'Content-Type': 'application/x-test' });
    const stat = await s3.statObject(bucket, 'dir/blob.bin');
    expect(stat.size).to.equal(body.length);
    expect(stat.metaData['content-type']).to.equal('application/x-test');
    const back = await readAll(await s3.getObject(bucket, 'dir/blob.bin'));
    expect(md5(back)).to.equal(md5(body));
    const part = await readAll(await s3.getPartialObject(bucket, 'dir/blob.bin', 10, 20));
    expect(part.equals(body.subarray(10, 30))).to.equal(true);
  });

  it('serves a presigned GET URL to a plain HTTP client', async function () {
    const url = await s3.presignedGetObject(bucket, 'dir/blob.bin', 60);
    const res = await fetch(url);
    expect(res.status).to.equal(200);
    expect(md5(Buffer.from(await res.arrayBuffer()))).to.equal(md5(body));
    const tampered = await fetch(url.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000'));
    expect(tampered.status).to.equal(403);
    await tampered.arrayBuffer();
  });

  it('accepts an upload through a presigned PUT URL', async function () {
    const upload = Buffer.from(`uploaded through a presigned URL ${crypto.randomUUID()}`);
    const url = await s3.presignedPutObject(bucket, 'uploads/presigned.txt', 60);
    const res = await fetch(url, { method: 'PUT', body: upload });
    expect(res.status).to.equal(200);
    await res.arrayBuffer();
    const back = await readAll(await s3.getObject(bucket, 'uploads/presigned.txt'));
    expect(back.toString()).to.equal(upload.toString());
  });

  it('refuses a client with a wrong secret', async function () {
    const err = await client('not-the-secret')
      .statObject(bucket, 'dir/blob.bin')
      .then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
    expect(err?.code).to.be.oneOf(['SignatureDoesNotMatch', 'AccessDenied']);
  });
});
