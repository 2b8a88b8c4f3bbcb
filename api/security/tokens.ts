/**
 * Token helpers, all pure (no I/O), so they are unit-tested directly.
 *
 * - uidb64: base64url of the decimal user id, as Django's `urlsafe_base64_encode(force_bytes(pk))`.
 * - One-time tokens for activation and password reset, built like Django's
 *   PasswordResetTokenGenerator: `<timestamp base36>-<HMAC-SHA256 over the user's state>`. The state
 *   includes what using the token changes (is_active and activated_at for activation; the password
 *   hash and last login for a reset), so a token works once; the timestamp makes it expire. An
 *   activation link stays dead after a later deactivation too: activated_at is never cleared.
 *   Nothing is stored.
 * - JWTs (HS256 only) for access and refresh, with a `typ` claim checked on every use.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import jwt from 'jsonwebtoken';

// ---------------------------------------------------------------- uidb64

export function encodeUid(id: number): string {
  return Buffer.from(String(id), 'utf8').toString('base64url');
}

/** The user id in a uidb64, or undefined when it is not one (never throws). */
export function decodeUid(uidb64: string): number | undefined {
  if (!/^[A-Za-z0-9_-]{1,24}$/.test(uidb64)) return undefined;
  const text = Buffer.from(uidb64, 'base64url').toString('utf8');
  if (!/^[1-9]\d{0,14}$/.test(text)) return undefined;
  // reject non-canonical encodings (extra bits), so one id has exactly one uidb64
  if (encodeUid(Number(text)) !== uidb64) return undefined;
  return Number(text);
}

// ---------------------------------------------------------------- one-time tokens

export type OneTimePurpose = 'activation' | 'password_reset';

/** The parts of a user that a one-time token is bound to. */
export interface TokenUserState {
  id: number;
  email: string;
  isActive: boolean;
  passwordHash: string;
  lastLoginAt: Date | null;
  /** Set by the first activation and never cleared: an activation link dies with it for good. */
  activatedAt: Date | null;
}

function stateString(purpose: OneTimePurpose, u: TokenUserState): string {
  const login = u.lastLoginAt ? String(u.lastLoginAt.getTime()) : '';
  const activated = u.activatedAt ? String(u.activatedAt.getTime()) : '';
  // the email is normalised so that a case-only change does not matter
  return [
    purpose,
    u.id,
    u.email.toLowerCase(),
    u.isActive ? '1' : '0',
    u.passwordHash,
    login,
    activated,
  ].join('\u0000');
}

function sign(key: Buffer, purpose: OneTimePurpose, u: TokenUserState, ts: number): string {
  return createHmac('sha256', key)
    .update(`${ts}\u0000${stateString(purpose, u)}`)
    .digest('base64url');
}

export function deriveKey(secret: string, label: string): Buffer {
  return createHmac('sha256', secret).update(`videoflix:${label}`).digest();
}

export function makeOneTimeToken(
  key: Buffer,
  purpose: OneTimePurpose,
  user: TokenUserState,
  nowMs: number,
): string {
  const ts = Math.floor(nowMs / 1000);
  return `${ts.toString(36)}-${sign(key, purpose, user, ts)}`;
}

export type OneTimeCheck = 'ok' | 'malformed' | 'expired' | 'invalid';

export function checkOneTimeToken(
  key: Buffer,
  purpose: OneTimePurpose,
  user: TokenUserState,
  token: string,
  ttlSeconds: number,
  nowMs: number,
): OneTimeCheck {
  const m = /^([0-9a-z]{1,8})-([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return 'malformed';
  const ts = parseInt(m[1]!, 36);
  const expected = Buffer.from(sign(key, purpose, user, ts));
  const given = Buffer.from(m[2]!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
  const now = Math.floor(nowMs / 1000);
  if (ts > now + 60) return 'invalid'; // from the future: not ours
  if (now - ts > ttlSeconds) return 'expired';
  return 'ok';
}

// ---------------------------------------------------------------- JWT

export const JWT_ALGORITHM = 'HS256' as const;
export type TokenType = 'access' | 'refresh';

export interface JwtSettings {
  secret: string;
  issuer: string;
  audience: string;
}

export interface TokenClaims {
  sub: string;
  typ: TokenType;
  /** session (refresh-token family) id */
  sid: string;
  jti: string;
  iat: number;
  exp: number;
}

export function signToken(
  s: JwtSettings,
  typ: TokenType,
  fields: { userId: number; sessionId: string; jti?: string; expiresAt: number },
  nowMs: number,
): { token: string; jti: string } {
  const jti = fields.jti ?? randomUUID();
  const iat = Math.floor(nowMs / 1000);
  const token = jwt.sign({ typ, sid: fields.sessionId, iat, exp: fields.expiresAt }, s.secret, {
    algorithm: JWT_ALGORITHM,
    issuer: s.issuer,
    audience: s.audience,
    subject: String(fields.userId),
    jwtid: jti,
    header: { alg: JWT_ALGORITHM, typ: 'JWT' },
  });
  return { token, jti };
}

export const jwtVerifyOptions = (s: JwtSettings) => ({
  algorithms: [JWT_ALGORITHM] as jwt.Algorithm[],
  issuer: s.issuer,
  audience: s.audience,
  clockTolerance: 5,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Checks shape of verified claims: type, subject, session and id. */
export function checkClaims(payload: unknown, typ: TokenType): TokenClaims | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  if (p.typ !== typ) return undefined;
  if (typeof p.sub !== 'string' || !/^[1-9]\d{0,14}$/.test(p.sub)) return undefined;
  if (typeof p.sid !== 'string' || !UUID.test(p.sid)) return undefined;
  if (typeof p.jti !== 'string' || !UUID.test(p.jti)) return undefined;
  if (typeof p.exp !== 'number' || typeof p.iat !== 'number') return undefined;
  return p as unknown as TokenClaims;
}

/** Verifies signature, algorithm, issuer, audience and expiry, then the type. Never throws. */
export function verifyToken(
  s: JwtSettings,
  token: string,
  typ: TokenType,
  nowMs: number,
): TokenClaims | undefined {
  try {
    const payload = jwt.verify(token, s.secret, {
      ...jwtVerifyOptions(s),
      clockTimestamp: Math.floor(nowMs / 1000),
    });
    return checkClaims(payload, typ);
  } catch {
    return undefined;
  }
}
