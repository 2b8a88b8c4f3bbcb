/**
 * Oversized and malformed request bodies through the ingress: each gets a clear 4xx with a message (413
 * for too large, 400 for malformed), never a 5xx or a hang.
 */
import { expect } from 'chai';
import { call, ingress } from './support.js';

const post = (path: string, body: string | Buffer, type = 'application/json') =>
  call('POST', path, { headers: { 'content-type': type, origin: new URL(ingress()).origin }, body });

describe('attack: oversized and malformed bodies', () => {
  it('refuses oversized JSON bodies with 413 (64 KiB, 2 MiB)', async () => {
    for (const size of [64 * 1024, 2 * 1024 * 1024]) {
      const r = await post(
        '/api/login/',
        JSON.stringify({ email: 'a@example.test', password: 'x'.repeat(size) }),
      );
      expect(r.status, `${size} bytes: ${r.text.slice(0, 100)}`).to.equal(413);
    }
  });

  it('refuses malformed JSON with 400 and a message, on every JSON route', async () => {
    for (const path of [
      '/api/register/',
      '/api/login/',
      '/api/password_reset/',
      '/api/password_confirm/MQ/x-y/',
    ]) {
      for (const body of [
        '{"email":',
        '{"email": "a@b.c",}',
        "{'email': 1}",
        '\u0000',
        '[1,2',
        'null',
        '[]',
        '42',
        '"x"',
      ]) {
        const r = await post(path, body);
        expect(r.status, `${path} ${JSON.stringify(body)}: ${r.text.slice(0, 100)}`).to.be.within(400, 429);
        if (r.status === 400) expect(r.text.length).to.be.greaterThan(0);
      }
    }
  });

  it('refuses wrong types, deep nesting and oversized fields with 400', async () => {
    const cases = [
      { email: ['a@b.c'], password: 'long-enough-1' },
      { email: { $ne: null }, password: { $ne: null } },
      { email: 'a@b.c', password: 12345678 },
      { email: `${'a'.repeat(400)}@example.test`, password: 'long-enough-1' },
      { email: 'a@b.c', password: 'x'.repeat(5000) },
      JSON.parse(`${'{"a":'.repeat(500)}1${'}'.repeat(500)}`) as unknown,
    ];
    for (const c of cases) {
      const r = await post('/api/login/', JSON.stringify(c));
      expect(r.status, `${JSON.stringify(c).slice(0, 60)}: ${r.text.slice(0, 100)}`).to.be.within(400, 429);
    }
  });

  it('refuses a body in another content type than JSON', async () => {
    for (const [type, body] of [
      ['text/plain', '{"email":"a@b.c","password":"long-enough-1"}'],
      ['application/x-www-form-urlencoded', 'email=a%40b.c&password=long-enough-1'],
      ['application/xml', '<login><email>a@b.c</email></login>'],
    ] as const) {
      const r = await post('/api/login/', body, type);
      expect(r.status, `${type}: ${r.text.slice(0, 100)}`).to.be.within(400, 429);
    }
  });
});
