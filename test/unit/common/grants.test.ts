import { expect } from 'chai';
import {
  amqpPermissions,
  AMQP_NOTHING,
  bucketPolicies,
  COMPONENTS,
  progressQueueName,
} from '../../../common/grants/index.js';

const keys = { api: 'AK-API', operator: 'AK-OP', transcoder: 'AK-TR' };
const buckets = { sourceBucket: 'src', mediaBucket: 'media' };

/** The actions a policy allows one principal on one resource. */
function allowed(bucket: string, principal: string, resource: string): string[] {
  const policy = bucketPolicies(buckets, keys).get(bucket)!;
  return policy.Statement.filter(
    (s) => s.Principal.AWS.includes(principal) && s.Resource.includes(resource),
  ).flatMap((s) => s.Action);
}

describe('common/grants: who may do what', function () {
  it('writes one policy per bucket, every statement naming exactly one component key', function () {
    const policies = bucketPolicies(buckets, keys);
    expect([...policies.keys()]).to.deep.equal(['src', 'media']);
    for (const p of policies.values()) {
      expect(p.Version).to.equal('2012-10-17');
      for (const s of p.Statement) {
        expect(s.Effect).to.equal('Allow');
        expect(s.Principal.AWS).to.have.length(1);
        expect(Object.values(keys)).to.include(s.Principal.AWS[0]);
      }
    }
  });

  it('gives the transcoder read on sources, read and write on media (chunks), never delete', function () {
    expect(allowed('src', 'AK-TR', 'arn:aws:s3:::src/*')).to.deep.equal(['s3:GetObject']);
    expect(allowed('media', 'AK-TR', 'arn:aws:s3:::media/*')).to.have.members([
      's3:GetObject',
      's3:PutObject',
      's3:AbortMultipartUpload',
    ]);
    expect(allowed('media', 'AK-TR', 'arn:aws:s3:::media')).to.deep.equal(['s3:ListBucket']);
    expect(allowed('src', 'AK-TR', 'arn:aws:s3:::src')).to.deep.equal([]);
  });

  it('keeps the API off media writes and bucket listings, the operator off source reads', function () {
    expect(allowed('media', 'AK-API', 'arn:aws:s3:::media/*')).to.deep.equal(['s3:GetObject']);
    expect(allowed('media', 'AK-API', 'arn:aws:s3:::media')).to.deep.equal([]);
    // on the sources bucket only the sweep of incomplete multipart uploads (upload ids), never ListBucket
    expect(allowed('src', 'AK-API', 'arn:aws:s3:::src')).to.deep.equal(['s3:ListBucketMultipartUploads']);
    expect(allowed('src', 'AK-OP', 'arn:aws:s3:::src/*')).to.deep.equal(['s3:DeleteObject']);
  });

  it('never grants bucket-level administration to any component', function () {
    for (const p of bucketPolicies(buckets, keys).values()) {
      for (const s of p.Statement) {
        for (const a of s.Action)
          expect(a, `${s.Sid} ${a}`).to.not.match(/Bucket(Policy|Acl)|CreateBucket|DeleteBucket|\*/);
      }
    }
    expect(COMPONENTS).to.have.length(3);
  });

  it('RabbitMQ: the API may not write the exchange, the operator may not read anything', function () {
    const p = amqpPermissions('videoflix.video-status', 'videoflix.api.catalog');
    const matches = (re: string, name: string) => new RegExp(re).test(name);
    expect(matches(p.api.write, 'videoflix.video-status')).to.equal(false);
    expect(matches(p.api.write, 'videoflix.api.catalog')).to.equal(true);
    expect(matches(p.api.read, 'videoflix.api.catalog')).to.equal(true);
    expect(matches(p.api.configure, 'videoflix.video-status')).to.equal(true);
    expect(matches(p.operator.write, 'videoflix.video-status')).to.equal(true);
    expect(matches(p.operator.write, 'videoflix.api.catalog')).to.equal(false);
    expect(p.operator.read).to.equal(AMQP_NOTHING);
    // the dots are literal: a look-alike name does not match
    expect(matches(p.operator.write, 'videoflixXvideo-status')).to.equal(false);
    expect(p.api.configure).to.equal(
      '^(videoflix\\.video-status|videoflix\\.api\\.catalog|videoflix\\.api\\.catalog\\.dlx|videoflix\\.api\\.catalog\\.dead)$',
    );
  });

  it("RabbitMQ: the API may declare its queue's dead-letter exchange and queue and drain the legacy queue", function () {
    const p = amqpPermissions('videoflix.video-status', 'videoflix.api.status', 'videoflix.api.catalog');
    const matches = (re: string, name: string) => new RegExp(re).test(name);
    for (const name of [
      'videoflix.api.status',
      'videoflix.api.status.dlx',
      'videoflix.api.status.dead',
      'videoflix.api.catalog',
    ])
      expect(matches(p.api.configure, name), `configure ${name}`).to.equal(true);
    // binds <queue>.dead to <queue>.dlx: write on the queue, read on the exchange; unbinds and consumes the legacy queue
    expect(matches(p.api.write, 'videoflix.api.status.dead')).to.equal(true);
    expect(matches(p.api.read, 'videoflix.api.status.dlx')).to.equal(true);
    expect(matches(p.api.read, 'videoflix.api.catalog')).to.equal(true);
    // declaring a queue with a dead-letter exchange takes write on that exchange (RabbitMQ's check);
    // still no write on the status exchange
    expect(matches(p.api.write, 'videoflix.api.status.dlx')).to.equal(true);
    expect(matches(p.api.write, 'videoflix.video-status')).to.equal(false);
    // no legacy queue given (or the same name): none granted
    expect(amqpPermissions('x', 'q', 'q').api.configure).to.equal('^(x|q|q\\.dlx|q\\.dead)$');
    expect(amqpPermissions('x', 'q').api.configure).to.equal('^(x|q|q\\.dlx|q\\.dead)$');
  });

  it('RabbitMQ progress: the transcoder may only publish to the progress exchange; the operator reads it', function () {
    const p = amqpPermissions(
      'videoflix.video-status',
      'videoflix.api.status',
      undefined,
      'videoflix.progress',
    );
    const matches = (re: string, name: string) => new RegExp(re).test(name);
    const mine = progressQueueName('videoflix.progress', 'videoflix-operator-5d8f/x');
    expect(mine).to.equal('videoflix.progress.operator.videoflix-operator-5d8f-x');
    const t = p.transcoder!;
    expect(t.configure).to.equal(AMQP_NOTHING);
    expect(t.read).to.equal(AMQP_NOTHING);
    expect(matches(t.write, 'videoflix.progress')).to.equal(true);
    expect(matches(t.write, 'videoflix.video-status')).to.equal(false);
    expect(matches(t.write, 'videoflix.progress.operator.x')).to.equal(false);
    // the operator: declares both exchanges and its queues, consumes its queues, cannot forge a report
    for (const name of ['videoflix.video-status', 'videoflix.progress', mine])
      expect(matches(p.operator.configure, name), name).to.equal(true);
    expect(matches(p.operator.read, 'videoflix.progress')).to.equal(true);
    expect(matches(p.operator.read, mine)).to.equal(true);
    expect(matches(p.operator.read, 'videoflix.api.status')).to.equal(false);
    expect(matches(p.operator.read, 'videoflix.video-status')).to.equal(false);
    expect(matches(p.operator.write, 'videoflix.progress')).to.equal(false);
    expect(matches(p.operator.write, mine)).to.equal(true);
    expect(matches(p.operator.configure, 'videoflix.progress.operator.')).to.equal(false);
    // without a progress exchange: no transcoder user, the operator as before
    expect(amqpPermissions('x', 'q').transcoder).to.equal(undefined);
  });
});
