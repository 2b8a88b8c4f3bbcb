/**
 * Login sessions: a new session (refresh-token family) on every login; refresh rotates the token;
 * presenting a token that was already rotated revokes its whole family (reuse detection); logout
 * and password reset revoke sessions. Access tokens name their session, and authentication checks
 * it is still live, so revocation takes effect at once, not when the access token expires.
 */
import { randomUUID } from 'node:crypto';
import { Op, QueryTypes, type Transaction } from 'sequelize';
import { errors, safeError } from '../errors.js';
import type { RevokeReason, User } from '../models/index.js';
import { hashCost } from '../security/passwords.js';
import { signToken, verifyToken, type TokenClaims } from '../security/tokens.js';
import type { ServiceContext } from './context.js';
import { findUserByEmail } from './users.js';

export interface IssuedTokens {
  access: string;
  refresh: string;
  accessExpiresAt: Date;
  refreshExpiresAt: Date;
}

export const INVALID_CREDENTIALS = 'Invalid email or password.';
export const INVALID_REFRESH = 'Invalid refresh token.';

/**
 * Unknown email, wrong password and inactive account: one answer, one bcrypt comparison each
 * (against a dummy hash when there is no user), so neither the body nor the time tells them apart.
 */
export async function login(
  ctx: ServiceContext,
  input: { email: string; password: string; userAgent?: string },
): Promise<{ user: User; tokens: IssuedTokens }> {
  const user = await findUserByEmail(ctx.models, input.email);
  const ok = await ctx.hasher.verify(input.password, user?.passwordHash ?? null);
  if (!user || !ok || !user.isActive) {
    ctx.logger.info(
      { userId: user?.id, reason: !user ? 'unknown' : !ok ? 'password' : 'inactive' },
      'login refused',
    );
    throw errors.badRequest('invalid_credentials', INVALID_CREDENTIALS);
  }
  const now = ctx.now();
  const changes: Partial<{ lastLoginAt: Date; passwordHash: string }> = { lastLoginAt: new Date(now) };
  if (hashCost(user.passwordHash) !== ctx.config.BCRYPT_COST) {
    changes.passwordHash = await ctx.hasher.hash(input.password); // cost changed: upgrade on login
  }
  const tokens = await ctx.sequelize.transaction(async (transaction) => {
    await user.update(changes, { transaction });
    const sessionId = randomUUID();
    await ctx.models.AuthSession.create(
      {
        id: sessionId,
        userId: user.id,
        expiresAt: new Date(now + ctx.config.SESSION_MAX_AGE * 1000),
        userAgent: input.userAgent?.slice(0, 256) ?? null,
      },
      { transaction },
    );
    return issue(ctx, user.id, sessionId, new Date(now + ctx.config.SESSION_MAX_AGE * 1000), transaction);
  });
  return { user, tokens };
}

async function issue(
  ctx: ServiceContext,
  userId: number,
  sessionId: string,
  sessionExpiresAt: Date,
  transaction: Transaction,
): Promise<IssuedTokens> {
  const now = ctx.now();
  const nowS = Math.floor(now / 1000);
  const sessionEndS = Math.floor(sessionExpiresAt.getTime() / 1000);
  const accessExp = Math.min(nowS + ctx.config.ACCESS_TOKEN_TTL, sessionEndS);
  const refreshExp = Math.min(nowS + ctx.config.REFRESH_TOKEN_TTL, sessionEndS);
  const refresh = signToken(ctx.jwt, 'refresh', { userId, sessionId, expiresAt: refreshExp }, now);
  const access = signToken(ctx.jwt, 'access', { userId, sessionId, expiresAt: accessExp }, now);
  await ctx.models.RefreshToken.create(
    { jti: refresh.jti, sessionId, userId, expiresAt: new Date(refreshExp * 1000) },
    { transaction },
  );
  return {
    access: access.token,
    refresh: refresh.token,
    accessExpiresAt: new Date(accessExp * 1000),
    refreshExpiresAt: new Date(refreshExp * 1000),
  };
}

type RotateOutcome =
  { ok: IssuedTokens } | { fail: 'unknown' | 'revoked' | 'expired' | 'inactive' | 'reused' };

/** Rotates a refresh token: the old one stops working; a replay revokes the family. */
export async function refresh(ctx: ServiceContext, token: string): Promise<IssuedTokens> {
  const claims = verifyToken(ctx.jwt, token, 'refresh', ctx.now());
  if (!claims) throw errors.unauthorized('token_not_valid', INVALID_REFRESH);
  const outcome = await ctx.sequelize.transaction(async (transaction): Promise<RotateOutcome> => {
    const row = await ctx.models.RefreshToken.findByPk(claims.jti, { transaction, lock: true });
    if (!row || row.sessionId !== claims.sid || String(row.userId) !== claims.sub) return { fail: 'unknown' };
    const session = await ctx.models.AuthSession.findByPk(row.sessionId, { transaction, lock: true });
    if (!session || session.revokedAt) return { fail: 'revoked' };
    if (row.usedAt) {
      await revokeSessions(ctx, { id: session.id }, 'reuse_detected', transaction);
      return { fail: 'reused' };
    }
    const now = ctx.now();
    if (session.expiresAt.getTime() <= now || row.expiresAt.getTime() <= now) return { fail: 'expired' };
    const user = await ctx.models.User.findByPk(row.userId, { transaction });
    if (!user || !user.isActive) return { fail: 'inactive' };
    const tokens = await issue(ctx, user.id, session.id, session.expiresAt, transaction);
    const next = verifyToken(ctx.jwt, tokens.refresh, 'refresh', now);
    await row.update({ usedAt: new Date(now), replacedBy: next?.jti ?? null }, { transaction });
    await session.update({ lastRefreshedAt: new Date(now) }, { transaction });
    return { ok: tokens };
  });
  if ('fail' in outcome) {
    const log =
      outcome.fail === 'reused' ? ctx.logger.warn.bind(ctx.logger) : ctx.logger.info.bind(ctx.logger);
    log({ userId: claims.sub, sessionId: claims.sid, reason: outcome.fail }, 'refresh refused');
    throw errors.unauthorized('token_not_valid', INVALID_REFRESH);
  }
  return outcome.ok;
}

/** Ends the session the refresh token belongs to. A rotated (old) token counts as reuse. */
export async function logout(ctx: ServiceContext, token: string): Promise<void> {
  const claims = verifyToken(ctx.jwt, token, 'refresh', ctx.now());
  if (!claims) throw errors.unauthorized('token_not_valid', INVALID_REFRESH);
  const ok = await ctx.sequelize.transaction(async (transaction) => {
    const row = await ctx.models.RefreshToken.findByPk(claims.jti, { transaction, lock: true });
    if (!row || row.sessionId !== claims.sid) return false;
    const session = await ctx.models.AuthSession.findByPk(row.sessionId, { transaction, lock: true });
    if (!session || session.revokedAt) return false;
    await revokeSessions(ctx, { id: session.id }, row.usedAt ? 'reuse_detected' : 'logout', transaction);
    return !row.usedAt;
  });
  if (!ok) throw errors.unauthorized('token_not_valid', INVALID_REFRESH);
}

export async function revokeSessions(
  ctx: ServiceContext,
  where: { id: string } | { userId: number },
  reason: RevokeReason,
  transaction?: Transaction,
): Promise<number> {
  const [count] = await ctx.models.AuthSession.update(
    { revokedAt: new Date(ctx.now()), revokeReason: reason },
    { where: { ...where, revokedAt: { [Op.is]: null } }, transaction },
  );
  return count;
}

export interface AuthenticatedUser {
  id: number;
  email: string;
  isStaff: boolean;
  sessionId: string;
}

/**
 * For an access token already verified: the user, if the session is live and the account active.
 * Asked on every authenticated request (each HLS segment too), so it stays exact — a logout, a
 * revocation or a deactivation counts from the next request, on every replica — and cheap: one
 * primary-key query with the join, read raw (no model instances).
 */
export async function userForAccessToken(
  ctx: ServiceContext,
  claims: TokenClaims,
): Promise<AuthenticatedUser | null> {
  const sessions = ctx.models.AuthSession.getTableName() as string;
  const users = ctx.models.User.getTableName() as string;
  const [row] = await ctx.sequelize.query<{
    id: number;
    email: string;
    is_staff: boolean;
    expires_at: Date | string;
  }>(
    `SELECT u.id, u.email, u.is_staff, s.expires_at FROM "${sessions}" s JOIN "${users}" u ON u.id = s.user_id ` +
      `WHERE s.id = $sid AND s.user_id = $uid AND s.revoked_at IS NULL AND u.is_active`,
    { bind: { sid: claims.sid, uid: Number(claims.sub) }, type: QueryTypes.SELECT },
  );
  if (!row || new Date(row.expires_at).getTime() <= ctx.now()) return null;
  return { id: Number(row.id), email: row.email, isStaff: row.is_staff, sessionId: claims.sid };
}

/**
 * Deletes what can no longer be used: sessions past their absolute expiry or revoked, and
 * refresh tokens past their expiry, once `graceSeconds` have passed (so a replay of a token that
 * just expired still finds its row and is answered as usual). Returns the rows deleted.
 */
export async function purgeExpiredSessions(
  ctx: ServiceContext,
  graceSeconds = 24 * 3600,
): Promise<{ sessions: number; tokens: number }> {
  const cutoff = new Date(ctx.now() - graceSeconds * 1000);
  return ctx.sequelize.transaction(async (transaction) => {
    // tokens of the deleted sessions go with them (ON DELETE CASCADE)
    const sessions = await ctx.models.AuthSession.destroy({
      where: { [Op.or]: [{ expiresAt: { [Op.lt]: cutoff } }, { revokedAt: { [Op.lt]: cutoff } }] },
      transaction,
    });
    const tokens = await ctx.models.RefreshToken.destroy({
      where: { expiresAt: { [Op.lt]: cutoff } },
      transaction,
    });
    return { sessions, tokens };
  });
}

/** Runs purgeExpiredSessions now and then every `intervalMs`; returns a stop function. */
export function schedulePurge(ctx: ServiceContext, intervalMs: number): () => void {
  const run = () => {
    purgeExpiredSessions(ctx).then(
      (n) => {
        if (n.sessions || n.tokens) ctx.logger.info(n, 'expired sessions purged');
      },
      (err: unknown) => ctx.logger.warn({ err: safeError(err) }, 'session purge failed'),
    );
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
