import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import {
  checkClaims,
  checkOneTimeToken,
  decodeUid,
  deriveKey,
  encodeUid,
  makeOneTimeToken,
  signToken,
  verifyToken,
  type TokenUserState,
} from '../../../api/security/tokens.js';

describe('api/security/tokens', function () {
  describe('uidb64', function () {
    it('encodes like Django (base64url of the decimal id, no padding)', function () {
      expect(encodeUid(1)).to.equal('MQ');
      expect(encodeUid(42)).to.equal('NDI');
      expect(encodeUid(123456)).to.equal('MTIzNDU2');
    });
    it('round-trips', function () {
      for (const id of [1, 9, 10, 999, 2_147_483_647]) expect(decodeUid(encodeUid(id))).to.equal(id);
    });
    it('refuses anything that is not the canonical encoding of a positive id', function () {
      for (const bad of [
        '',
        'invalid-uid',
        'MA',
        'LTE',
        'MDE',
        'YWJj',
        'MQ==',
        'M Q',
        'MR',
        '%%%',
        'x'.repeat(40),
      ]) {
        expect(decodeUid(bad), bad).to.equal(undefined);
      }
    });
  });

  describe('one-time tokens', function () {
    const key = deriveKey('unit-test-secret', 'activation-token');
    const user: TokenUserState = {
      id: 7,
      email: 'A@Example.test',
      isActive: false,
      passwordHash: 'h1',
      lastLoginAt: null,
      activatedAt: null,
    };
    const now = Date.UTC(2026, 0, 1);
    const ttl = 3600;

    it('accepts its own token within the lifetime', function () {
      const t = makeOneTimeToken(key, 'activation', user, now);
      expect(t).to.match(/^[0-9a-z]+-[A-Za-z0-9_-]{43}$/);
      expect(checkOneTimeToken(key, 'activation', user, t, ttl, now + 1000)).to.equal('ok');
      expect(
        checkOneTimeToken(key, 'activation', { ...user, email: 'a@example.test' }, t, ttl, now),
      ).to.equal('ok');
    });
    it('expires after the lifetime', function () {
      const t = makeOneTimeToken(key, 'activation', user, now);
      expect(checkOneTimeToken(key, 'activation', user, t, ttl, now + (ttl + 1) * 1000)).to.equal('expired');
    });
    it('stops working once the state it is bound to changes (single use)', function () {
      const t = makeOneTimeToken(key, 'activation', user, now);
      expect(checkOneTimeToken(key, 'activation', { ...user, isActive: true }, t, ttl, now)).to.equal(
        'invalid',
      );
      expect(checkOneTimeToken(key, 'activation', { ...user, passwordHash: 'h2' }, t, ttl, now)).to.equal(
        'invalid',
      );
      expect(
        checkOneTimeToken(key, 'activation', { ...user, lastLoginAt: new Date(now) }, t, ttl, now),
      ).to.equal('invalid');
      expect(checkOneTimeToken(key, 'activation', { ...user, id: 8 }, t, ttl, now)).to.equal('invalid');
    });
    it('stays dead after activation, even when the account is deactivated again (activatedAt)', function () {
      const t = makeOneTimeToken(key, 'activation', user, now);
      const activated = { ...user, isActive: true, activatedAt: new Date(now + 1000) };
      const deactivated = { ...activated, isActive: false };
      expect(checkOneTimeToken(key, 'activation', deactivated, t, ttl, now + 2000)).to.equal('invalid');
    });
    it('is bound to its purpose and key', function () {
      const t = makeOneTimeToken(key, 'activation', user, now);
      expect(checkOneTimeToken(key, 'password_reset', user, t, ttl, now)).to.equal('invalid');
      expect(
        checkOneTimeToken(deriveKey('other', 'activation-token'), 'activation', user, t, ttl, now),
      ).to.equal('invalid');
    });
    it('refuses tampered timestamps and signatures, and malformed input', function () {
      const t = makeOneTimeToken(key, 'activation', user, now);
      const i = t.indexOf('-');
      const ts = t.slice(0, i);
      const sig = t.slice(i + 1); // base64url: may itself contain '-'
      const later = (parseInt(ts, 36) + 100).toString(36);
      expect(checkOneTimeToken(key, 'activation', user, `${later}-${sig}`, ttl, now)).to.equal('invalid');
      expect(
        checkOneTimeToken(
          key,
          'activation',
          user,
          `${ts}-${sig.replace(/^./, (c) => (c === 'x' ? 'y' : 'x'))}`,
          ttl,
          now,
        ),
      ).to.equal('invalid');
      for (const bad of ['', 'abc', `${ts}-`, `-${sig}`, `${ts}-${sig}x`, `${ts}_${sig}`]) {
        expect(checkOneTimeToken(key, 'activation', user, bad, ttl, now), bad).to.equal('malformed');
      }
    });
    it('refuses tokens stamped in the future', function () {
      const t = makeOneTimeToken(key, 'activation', user, now + 3600_000);
      expect(checkOneTimeToken(key, 'activation', user, t, ttl, now)).to.equal('invalid');
    });
  });

  describe('JWT', function () {
    const s = { secret: 'unit-test-jwt-secret-with-enough-length!!', issuer: 'iss', audience: 'aud' };
    const sid = '6f1c1d7e-9a43-4b59-8c1e-1b2a3c4d5e6f';
    const now = Date.now();
    const exp = Math.floor(now / 1000) + 60;

    it('signs HS256 tokens that verify with their own type only', function () {
      const { token, jti } = signToken(s, 'access', { userId: 5, sessionId: sid, expiresAt: exp }, now);
      expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).to.deep.equal({
        alg: 'HS256',
        typ: 'JWT',
      });
      const claims = verifyToken(s, token, 'access', now);
      expect(claims).to.include({ sub: '5', typ: 'access', sid, jti, exp });
      expect(verifyToken(s, token, 'refresh', now)).to.equal(undefined);
    });
    it('signs the same claims to the same token, byte for byte (the refresh grace window re-issues this way)', function () {
      const first = signToken(s, 'refresh', { userId: 5, sessionId: sid, expiresAt: exp }, now);
      // later, from what the database keeps: jti, session, user, iat (whole seconds) and exp
      const again = signToken(
        s,
        'refresh',
        { userId: 5, sessionId: sid, jti: first.jti, expiresAt: exp },
        Math.floor(now / 1000) * 1000 + 999,
      );
      expect(again.token).to.equal(first.token);
      const other = signToken(s, 'refresh', { userId: 5, sessionId: sid, expiresAt: exp }, now);
      expect(other.token).to.not.equal(first.token); // a new jti otherwise
    });
    it('refuses expired tokens, other keys, issuers, audiences and algorithms', function () {
      const { token } = signToken(s, 'refresh', { userId: 5, sessionId: sid, expiresAt: exp }, now);
      expect(verifyToken(s, token, 'refresh', (exp + 10) * 1000)).to.equal(undefined);
      expect(verifyToken({ ...s, secret: `${s.secret}x` }, token, 'refresh', now)).to.equal(undefined);
      expect(verifyToken({ ...s, issuer: 'other' }, token, 'refresh', now)).to.equal(undefined);
      expect(verifyToken({ ...s, audience: 'other' }, token, 'refresh', now)).to.equal(undefined);
      const payload = jwt.decode(token) as object;
      const hs512 = jwt.sign(payload, s.secret, { algorithm: 'HS512' });
      expect(verifyToken(s, hs512, 'refresh', now)).to.equal(undefined);
      const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${token.split('.')[1]}.`;
      expect(verifyToken(s, none, 'refresh', now)).to.equal(undefined);
      expect(verifyToken(s, 'not a token', 'refresh', now)).to.equal(undefined);
    });
    it('checkClaims wants a numeric subject, a session id and a token id', function () {
      const good = { sub: '1', typ: 'access', sid, jti: sid, iat: 1, exp: 2 };
      expect(checkClaims(good, 'access')).to.deep.equal(good);
      expect(checkClaims({ ...good, sub: 'admin' }, 'access')).to.equal(undefined);
      expect(checkClaims({ ...good, sid: 'x' }, 'access')).to.equal(undefined);
      expect(checkClaims({ ...good, jti: undefined }, 'access')).to.equal(undefined);
      expect(checkClaims('string', 'access')).to.equal(undefined);
      expect(checkClaims(null, 'access')).to.equal(undefined);
    });
  });
});
