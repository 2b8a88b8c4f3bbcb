import { expect } from 'chai';
import { sniffVideo } from '../../../../api/catalog/sniff.js';

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const pad = (b: Buffer, n = 600) => Buffer.concat([b, Buffer.alloc(Math.max(0, n - b.length))]);

function tsStream(stride: number, offset: number, packets = 3): Buffer {
  const b = Buffer.alloc(stride * packets);
  for (let i = 0; i < packets; i++) b[offset + i * stride] = 0x47;
  return b;
}

describe('api catalog: sniffing the first bytes of an upload', function () {
  const cases: Array<[string, Buffer, string]> = [
    ['mp4 (isom)', pad(bytes([0, 0, 0, 0x20], 'ftypisom', [0, 0, 2, 0])), 'mp4'],
    ['mp4 (mp42)', pad(bytes([0, 0, 0, 0x18], 'ftypmp42')), 'mp4'],
    ['mov (qt brand)', pad(bytes([0, 0, 0, 0x14], 'ftypqt  ')), 'mov'],
    ['old QuickTime starting with moov', pad(bytes([0, 0, 0x10, 0], 'moov')), 'mov'],
    ['3gp', pad(bytes([0, 0, 0, 0x14], 'ftyp3gp5')), '3gp'],
    [
      'mkv',
      pad(
        bytes(
          [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1],
          'B\u00f7\u0081\u0001B\u0082\u0088matroska',
        ),
      ),
      'mkv',
    ],
    ['webm', pad(bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1], 'B\u0082\u0084webm')), 'webm'],
    ['avi', pad(bytes('RIFF', [0, 0, 0, 0], 'AVI LIST')), 'avi'],
    ['MPEG-TS', tsStream(188, 0, 4), 'ts'],
    ['M2TS (192-byte packets)', tsStream(192, 4, 4), 'm2ts'],
    ['MPEG-PS', pad(bytes([0, 0, 1, 0xba, 0x44])), 'mpeg'],
    ['FLV', pad(bytes('FLV', [1, 5, 0, 0, 0, 9])), 'flv'],
    ['ASF/WMV', pad(bytes([0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9])), 'asf'],
    ['Ogg', pad(bytes('OggS', [0, 2])), 'ogg'],
  ];
  for (const [what, head, container] of cases) {
    it(`recognises ${what}`, function () {
      expect(sniffVideo(head)).to.deep.equal({ video: true, container });
    });
  }

  const refused: Array<[string, Buffer, RegExp]> = [
    ['an empty file', Buffer.alloc(0), /too short/],
    ['a PNG', pad(bytes([0x89], 'PNG\r\n\u001a\n')), /not a recognised video container/],
    ['a JPEG', pad(bytes([0xff, 0xd8, 0xff, 0xe0])), /not a recognised/],
    ['a PDF', pad(bytes('%PDF-1.7\n')), /not a recognised/],
    ['a WAV (RIFF but not AVI)', pad(bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt ')), /RIFF file of type "WAVE"/],
    ['an m4a (audio brand)', pad(bytes([0, 0, 0, 0x20], 'ftypM4A ')), /audio or image/],
    ['a HEIC image', pad(bytes([0, 0, 0, 0x18], 'ftypheic')), /audio or image/],
    ['text', pad(Buffer.from('hello, this is not a video at all')), /not a recognised/],
    ['one stray 0x47 (not a TS stream)', pad(bytes([0x47, 1, 2, 3])), /not a recognised/],
  ];
  for (const [what, head, reason] of refused) {
    it(`refuses ${what}`, function () {
      const r = sniffVideo(head);
      expect(r.video).to.equal(false);
      if (!r.video) expect(r.reason).to.match(reason);
    });
  }
});
