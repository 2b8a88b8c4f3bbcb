/** The status message contract: one schema, one builder, one reader of the catalog-id annotation. */
import { expect } from 'chai';
import {
  ANNOTATIONS,
  catalogIdOf,
  toStatusMessage,
  videoStatusMessageSchema,
  type Video,
} from '../../../common/video/index.js';
import { UID, video } from '../operator/fixtures.js';

const AT = new Date('2026-11-26T08:00:00.000Z');
const ready: Video = video(
  { annotations: { [ANNOTATIONS.catalogId]: '42' }, resourceVersion: '1234' },
  { description: 'A demo', category: 'Drama' },
  {
    phase: 'Ready',
    masterPlaylistKey: `${UID}/master.m3u8`,
    thumbnailKey: `${UID}/thumbnail.jpg`,
    source: { durationSeconds: 30, width: 1920, height: 1080, hasAudio: true },
    renditions: [
      { name: '480p', phase: 'Succeeded', job: 'demo-480p', playlistKey: `${UID}/480p/index.m3u8` },
    ],
    message: 'Ready: 480p',
  },
);

describe('common/video/status-message', () => {
  it('is byte-compatible with the messages already on the wire (keys, order, values)', () => {
    const text = JSON.stringify(toStatusMessage(ready, { sequence: 7, observedAt: AT }));
    expect(text).to.equal(
      `{"namespace":"media","name":"demo","uid":"${UID}","catalogId":42,"generation":1,"resourceVersion":"1234",` +
        `"phase":"Ready","title":"Demo","description":"A demo","category":"Drama",` +
        `"masterPlaylistKey":"${UID}/master.m3u8","thumbnailKey":"${UID}/thumbnail.jpg","durationSeconds":30,` +
        `"renditions":[{"name":"480p","phase":"Succeeded","job":"demo-480p","playlistKey":"${UID}/480p/index.m3u8"}],` +
        `"message":"Ready: 480p","observedAt":"2026-11-26T08:00:00.000Z","sequence":7}`,
    );
    const deleted = toStatusMessage(ready, { sequence: 8, observedAt: AT, deleted: true });
    expect(Object.keys(deleted).at(-1)).to.equal('deleted');
  });

  it('what the operator builds is what the consumer parses, unchanged', () => {
    for (const v of [ready, video()]) {
      const msg = toStatusMessage(v, { sequence: 1, observedAt: AT });
      expect(videoStatusMessageSchema.parse(JSON.parse(JSON.stringify(msg)))).to.deep.equal(msg);
    }
    const bare = toStatusMessage(video(), { sequence: 1, observedAt: AT });
    expect(bare).to.include({ phase: 'Pending', description: '', category: '' });
    expect(bare).to.not.have.property('catalogId');
  });

  it('rejects what is not a status message', () => {
    const ok = toStatusMessage(ready, { sequence: 1 });
    expect(videoStatusMessageSchema.safeParse({ ...ok, phase: 'Done' }).success).to.equal(false);
    expect(videoStatusMessageSchema.safeParse({ ...ok, catalogId: 0 }).success).to.equal(false);
    expect(videoStatusMessageSchema.safeParse({ ...ok, sequence: -1 }).success).to.equal(false);
  });

  it('reads the catalog-id annotation one way: a positive decimal integer or nothing', () => {
    const v = (id?: string) =>
      video(id === undefined ? {} : { annotations: { [ANNOTATIONS.catalogId]: id } });
    expect(catalogIdOf(v('12'))).to.equal(12);
    for (const bad of ['0', '12abc', '-3', '', '1e3', '1234567890'])
      expect(catalogIdOf(v(bad)), bad).to.equal(undefined);
    expect(catalogIdOf(v())).to.equal(undefined);
    // the operator used to send parseInt's reading ("12abc" → 12); now both sides agree
    expect(toStatusMessage(v('12abc'), { sequence: 1 })).to.not.have.property('catalogId');
  });
});
