/**
 * common/storage/presign.ts: the SigV4 query signer of streaming offload, checked against the AWS
 * documentation's example, the output of @aws-sdk's presigner (v3, `getSignedUrl` of a GetObjectCommand
 * with `signingDate` fixed: recorded below, the SDK is not a dependency) and minio's presigner (a
 * dependency: computed here for the same inputs).
 */
import { expect } from 'chai';
import { Client } from 'minio';
import { S3Presigner, encodePath, presignPath, uriEncode } from '../../../common/storage/presign.js';

const sig = (url: string) => new URL(url, 'http://x.invalid').searchParams.get('X-Amz-Signature');

describe('common/storage: S3Presigner (SigV4 query signing of GET)', () => {
  it('gives the signature of the AWS documentation example (sigv4-query-string-auth, examplebucket/test.txt)', () => {
    const p = new S3Presigner({
      accessKey: 'AKIAIOSFODNN7EXAMPLE',
      secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      region: 'us-east-1',
    });
    const url = p.presignGet({
      host: 'examplebucket.s3.amazonaws.com',
      path: '/test.txt',
      date: new Date('2013-05-24T00:00:00Z'),
      expiresSeconds: 86400,
    });
    expect(url).to.equal(
      '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
        '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
        '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
        '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
  });

  const p = new S3Presigner({ accessKey: 'AK', secretKey: 'SK', region: 'us-east-1' });
  const date = new Date('2026-12-04T13:00:00Z');
  const path = '/videoflix-media/u-1/720p/segment_000.ts';
  // what @aws-sdk/s3-request-presigner 3.x answered for GetObject on http://videos.example.test:8080
  // (forcePathStyle, credentials AK/SK, expiresIn 14400, signingDate above); the SDK adds three query
  // parameters of its own, signed like any other
  const sdkQuery = {
    'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
    'x-amz-checksum-mode': 'ENABLED',
    'x-id': 'GetObject',
  };

  it("matches @aws-sdk's presigner for the same inputs (with and without a response-* override)", () => {
    const host = 'videos.example.test:8080';
    expect(sig(p.presignGet({ host, path, date, expiresSeconds: 14400, query: sdkQuery }))).to.equal(
      'e8b1ed757b47f552ec216bdd181b1c14008bade4b4f6bc9debfe6ea9c1a0ade6',
    );
    const withCache = p.presignGet({
      host,
      path,
      date,
      expiresSeconds: 14400,
      query: { ...sdkQuery, 'response-cache-control': 'private, max-age=86400, immutable' },
    });
    expect(sig(withCache)).to.equal('bf084a973d3eb627201cfd3f4574177828c0e294b1dfa8c7957b430787291474');
    expect(withCache).to.include('response-cache-control=private%2C%20max-age%3D86400%2C%20immutable');
  });

  it("matches minio's presignedUrl for the same inputs, on several hosts, keys and expiries", async () => {
    for (const [host, port, key, expires] of [
      ['videos.example.test', 8080, 'u-1/720p/segment_000.ts', 14400],
      ['127.0.0.1', 8080, '0d8e7c1a-5b7e-4c1e-9a57-2f9f0b3c0e11/1080p/segment_123.ts', 60],
      ['videoflix.example.com', 80, 'a b/(x)!*.ts', 604800],
    ] as const) {
      const c = new Client({
        endPoint: host,
        port,
        useSSL: false,
        pathStyle: true,
        region: 'us-east-1',
        accessKey: 'AK',
        secretKey: 'SK',
      });
      const want = new URL(await c.presignedUrl('GET', 'videoflix-media', key, expires, {}, date));
      const hostHeader = port === 80 ? host : `${host}:${port}`;
      const got = p.presignGet({
        host: hostHeader,
        path: presignPath('videoflix-media', key),
        date,
        expiresSeconds: expires,
      });
      expect(got, key).to.equal(want.pathname + want.search);
    }
  });

  it('signs the host, the path and the expiry: changing any one changes the signature', () => {
    const base = { host: 'a.test', path, date, expiresSeconds: 3600 };
    const s = sig(p.presignGet(base));
    expect(sig(p.presignGet({ ...base, host: 'b.test' }))).to.not.equal(s);
    expect(sig(p.presignGet({ ...base, path: path.replace('000', '001') }))).to.not.equal(s);
    expect(sig(p.presignGet({ ...base, expiresSeconds: 3601 }))).to.not.equal(s);
    expect(sig(p.presignGet({ ...base, date: new Date(date.getTime() + 1000) }))).to.not.equal(s);
    // the signing key of another day is derived (and the first one's is not reused)
    expect(sig(p.presignGet({ ...base, date: new Date(date.getTime() + 86_400_000) }))).to.not.equal(s);
    expect(sig(p.presignGet(base))).to.equal(s);
  });

  it('refuses expiries S3 would refuse, and missing keys', () => {
    for (const expiresSeconds of [0, -1, 1.5, 604801])
      expect(() => p.presignGet({ host: 'a.test', path, date, expiresSeconds })).to.throw(RangeError);
    expect(() => new S3Presigner({ accessKey: '', secretKey: 'x', region: 'r' })).to.throw(/access key/);
  });

  it('encodes as SigV4 wants: unreserved kept, the rest %XX, slashes of a path kept', () => {
    expect(uriEncode("a b/c!'()*~._-")).to.equal('a%20b%2Fc%21%27%28%29%2A~._-');
    expect(encodePath('/b/k ey/ü.ts')).to.equal('/b/k%20ey/%C3%BC.ts');
  });
});
