/**
 * CSRF through the ingress: every unsafe route, with the admin's valid cookies, from a foreign origin (an
 * Origin header, a Referer only, and the opaque "null" origin) → 403 before anything happens; the same
 * session keeps working (nothing was logged out, uploaded or deleted).
 */
import { expect } from 'chai';
import { EVIL, adminSession, call, multipart, type Session } from './support.js';

describe('attack: cross-site requests from a foreign origin on every unsafe route', () => {
  let session: Session;
  before(async () => {
    session = await adminSession();
  });

  const json = (data: unknown) => ({ body: JSON.stringify(data), type: 'application/json' });
  const routes: [string, string, () => { body: string | Buffer; type: string }][] = [
    [
      'POST',
      '/api/register/',
      () =>
        json({
          email: 'csrf@example.test',
          password: 'x-Long-enough-1',
          confirmed_password: 'x-Long-enough-1',
        }),
    ],
    ['POST', '/api/login/', () => json({ email: 'csrf@example.test', password: 'whatever-1234' })],
    ['POST', '/api/logout/', () => json({})],
    ['POST', '/api/token/refresh/', () => json({})],
    ['POST', '/api/password_reset/', () => json({ email: 'csrf@example.test' })],
    [
      'POST',
      '/api/password_confirm/MQ/abc-def/',
      () => json({ new_password: 'x-Long-enough-1', confirm_password: 'x-Long-enough-1' }),
    ],
    [
      'POST',
      '/api/admin/videos/',
      () => {
        const m = multipart(
          { title: 'csrf upload', description: 'forged', category: 'x' },
          { name: 'a.mp4', type: 'video/mp4', data: Buffer.from('\0\0\0\x18ftypisom\0\0\0\0isomiso2') },
        );
        return { body: m.body, type: m.contentType };
      },
    ],
    ['DELETE', '/api/admin/videos/1/', () => ({ body: '', type: 'application/json' })],
    // the resumable upload (tus 1.0, issue 25): creation, a chunk, termination
    ['POST', '/api/admin/uploads/', () => ({ body: '', type: 'application/json' })],
    [
      'PATCH',
      '/api/admin/uploads/00000000-0000-4000-8000-000000000000/',
      () => ({ body: Buffer.from('\0\0\0\x18ftypisom'), type: 'application/offset+octet-stream' }),
    ],
    [
      'DELETE',
      '/api/admin/uploads/00000000-0000-4000-8000-000000000000/',
      () => ({ body: '', type: 'application/json' }),
    ],
  ];

  for (const [method, path, make] of routes) {
    it(`${method} ${path}: 403 for a foreign Origin, a foreign Referer alone and Origin "null"`, async () => {
      const variants: Record<string, string>[] = [
        { origin: EVIL },
        { referer: `${EVIL}/page.html` },
        { origin: 'null' },
      ];
      for (const headers of variants) {
        const { body, type } = make();
        const r = await call(method, path, {
          cookies: session.cookies,
          headers: { 'content-type': type, ...headers },
          body,
        });
        expect(r.status, `${JSON.stringify(headers)}: ${r.text}`).to.equal(403);
        expect(r.text).to.match(/CSRF/);
      }
    });
  }

  it('left the session alive and the catalog untouched', async () => {
    const me = await call('GET', '/api/admin/videos/', { cookies: session.cookies });
    expect(me.status).to.equal(200);
    expect(me.text).not.to.contain('csrf upload');
  });

  it('answers a foreign origin no CORS grant with credentials', async () => {
    const r = await call('OPTIONS', '/api/login/', {
      headers: {
        origin: EVIL,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(r.status).to.be.lessThan(500);
    expect(r.headers['access-control-allow-origin']).to.equal(undefined);
  });
});
