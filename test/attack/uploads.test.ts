/**
 * Admin uploads through the ingress: files that are not videos (a PDF, an image, random bytes, a script
 * named .mp4, an HLS playlist), malformed multipart, missing fields, and an upload whose connection drops
 * half-way. Each is refused with a 4xx (or, for the dropped connection, leaves nothing behind); none
 * becomes a Video.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { waitFor } from '@videoflix/testkit/waiters';
import { adminSession, call, ingress, multipart, type Session } from './support.js';

describe('attack: non-video, malformed and truncated uploads', () => {
  let session: Session;
  const tag = randomBytes(4).toString('hex');
  before(async () => {
    session = await adminSession();
  });
  const origin = () => new URL(ingress()).origin;
  const upload = (body: Buffer, contentType: string, extra: { truncateAt?: number } = {}) =>
    call('POST', '/api/admin/videos/', {
      cookies: session.cookies,
      headers: { 'content-type': contentType, origin: origin() },
      body,
      ...extra,
    });
  const titles = async () =>
    (
      JSON.parse((await call('GET', '/api/admin/videos/', { cookies: session.cookies })).text) as {
        title: string;
      }[]
    ).map((v) => v.title);

  it('refuses files that are not videos with 415', async () => {
    const files: [string, string, Buffer][] = [
      [
        'doc.pdf',
        'application/pdf',
        Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n'.repeat(20)),
      ],
      [
        'pic.png',
        'image/png',
        Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), randomBytes(2048)]),
      ],
      ['noise.mp4', 'video/mp4', randomBytes(64 * 1024)],
      ['script.mp4', 'video/mp4', Buffer.from('#!/bin/sh\ncat /etc/passwd\n'.repeat(40))],
      [
        'list.mp4',
        'video/mp4',
        Buffer.from('#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n'.repeat(20)),
      ],
      ['concat.mp4', 'video/mp4', Buffer.from('ffconcat version 1.0\nfile /etc/passwd\n'.repeat(20))],
    ];
    for (const [name, type, data] of files) {
      const m = multipart(
        { title: `attack-${tag}-${name}`, description: 'd', category: 'c' },
        { name, type, data },
      );
      const r = await upload(m.body, m.contentType);
      expect(r.status, `${name}: ${r.text.slice(0, 160)}`).to.equal(415);
    }
    expect((await titles()).filter((t) => t.startsWith(`attack-${tag}`))).to.deep.equal([]);
  });

  it('refuses malformed multipart and missing fields with 400', async () => {
    const video = Buffer.concat([
      Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex'),
      randomBytes(4096),
    ]);
    const noTitle = multipart(
      { description: 'd', category: 'c' },
      { name: 'a.mp4', type: 'video/mp4', data: video },
    );
    const cases: [string, Buffer, string][] = [
      ['no boundary', Buffer.from('--x\r\n\r\n'), 'multipart/form-data'],
      ['wrong boundary', noTitle.body, 'multipart/form-data; boundary=nope'],
      [
        'unterminated',
        Buffer.from('------b\r\nContent-Disposition: form-data; name="title"\r\n\r\nx'),
        'multipart/form-data; boundary=----b',
      ],
      ['no title', noTitle.body, noTitle.contentType],
      ['JSON instead of multipart', Buffer.from('{"title":"x"}'), 'application/json'],
    ];
    for (const [what, body, type] of cases) {
      const r = await upload(body, type);
      expect(r.status, `${what}: ${r.text.slice(0, 160)}`).to.be.within(400, 415);
    }
    const noFile = Buffer.from(
      `--b1\r\nContent-Disposition: form-data; name="title"\r\n\r\nattack-${tag}-nofile\r\n--b1--\r\n`,
    );
    expect((await upload(noFile, 'multipart/form-data; boundary=b1')).status).to.equal(400);
  });

  it('keeps nothing of an upload whose connection drops half-way', async () => {
    const title = `attack-${tag}-truncated`;
    const video = Buffer.concat([
      Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex'),
      randomBytes(2 * 1024 * 1024),
    ]);
    const m = multipart(
      { title, description: 'd', category: 'c' },
      { name: 't.mp4', type: 'video/mp4', data: video },
    );
    const r = await upload(m.body, m.contentType, { truncateAt: Math.floor(m.body.length / 2) });
    expect(r.status === 0 || (r.status >= 400 && r.status < 500), `${r.status} ${r.text}`).to.equal(true);
    // The API undoes the dropped upload when it sees the connection end, which can be after its answer to the
    // next request (seen on kind: the row listed once, "upload undone" 1 s later): the row goes.
    await waitFor(async () => !(await titles()).includes(title), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: `the dropped upload "${title}" to be undone`,
    });
  });
});
