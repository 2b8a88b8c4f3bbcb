import { expect } from 'chai';
import type { Client } from 'minio';
import { TranscoderError } from '../../../transcoder-image/errors.js';
import { Storage } from '../../../transcoder-image/storage.js';

/** A client whose bucketExists answers from a script: errors (by code) or a boolean, one per call. */
function scripted(answers: Array<string | boolean>): { client: Client; calls: () => number } {
  let n = 0;
  const client = {
    bucketExists: async () => {
      const a = answers[n++];
      if (typeof a === 'boolean') return a;
      throw Object.assign(new Error(`connect ${a} 10.96.0.1:7070`), { code: a });
    },
  } as unknown as Client;
  return { client, calls: () => n };
}
const NO_WAIT = [0, 0, 0];

describe('transcoder: the first S3 contact (checkBucket)', () => {
  it('waits out connections refused while the Pod network is set up, then goes on', async () => {
    const s = scripted(['ECONNREFUSED', 'ECONNREFUSED', true]);
    await new Storage(s.client, 'http://s3:7070').checkBucket('media', NO_WAIT);
    expect(s.calls()).to.equal(3);
  });

  it('is a storage error once the retries are used up', async () => {
    const s = scripted(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
    const err = await new Storage(s.client, 'http://s3:7070').checkBucket('media', NO_WAIT).catch((e) => e);
    expect(err).to.be.instanceOf(TranscoderError);
    expect((err as Error).message).to.match(/checking bucket media at http:\/\/s3:7070: .*ECONNREFUSED/);
    expect(s.calls()).to.equal(4);
  });

  it('does not retry what is not a connection error, nor a missing bucket', async () => {
    const denied = scripted(['AccessDenied', true]);
    const err = await new Storage(denied.client, 'http://s3:7070')
      .checkBucket('media', NO_WAIT)
      .catch((e) => e);
    expect(err).to.be.instanceOf(TranscoderError);
    expect(denied.calls()).to.equal(1);
    const missing = scripted([false]);
    const gone = await new Storage(missing.client, 'http://s3:7070')
      .checkBucket('media', NO_WAIT)
      .catch((e) => e);
    expect((gone as Error).message).to.match(/bucket media does not exist/);
    expect(missing.calls()).to.equal(1);
  });
});
