/** The operator's status messages: when a status write is news, and sequences per Video. */
import { expect } from 'chai';
import { DELETED_ROUTING_KEY, type VideoStatusMessage } from '../../../common/video/index.js';
import { StatusMessages, worthPublishing } from '../../../operator/video/messages.js';
import { video } from './fixtures.js';

describe('operator/video/messages', () => {
  it('publishes a phase change, a new generation or a rendition finishing, not a message change alone', () => {
    const base = { phase: 'Processing' as const, observedGeneration: 1, renditions: [] };
    expect(worthPublishing(base, { ...base, message: 'other' })).to.equal(false);
    expect(worthPublishing(base, { ...base, phase: 'Ready' })).to.equal(true);
    expect(worthPublishing(base, { ...base, observedGeneration: 2 })).to.equal(true);
    expect(worthPublishing(base, { ...base, renditions: [{ name: '480p', phase: 'Succeeded' }] })).to.equal(
      true,
    );
  });

  it('sequences increase per Video even when the clock stands still; the last one says deleted', () => {
    const sent: Array<{ routingKey: string; message: VideoStatusMessage }> = [];
    const sink = {
      size: 0,
      publish: (routingKey: string, message: VideoStatusMessage) => sent.push({ routingKey, message }),
    };
    const m = new StatusMessages(sink, () => 1_000);
    const v = video({}, {}, { phase: 'Processing' });
    m.publish(v);
    m.publish(v, { phase: 'Ready' });
    m.publishDeleted(v);
    expect(sent.map((s) => s.routingKey)).to.deep.equal([
      'video.processing',
      'video.ready',
      DELETED_ROUTING_KEY,
    ]);
    expect(sent.map((s) => s.message.sequence)).to.deep.equal([1_000, 1_001, 1_002]);
    expect(sent[2]?.message).to.include({ deleted: true, phase: 'Processing' });
  });
});
