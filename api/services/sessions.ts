// Over 300 lines: one state machine (login, rotation, reuse detection, grace, logout) whose transitions are read together.
/**
 * Login sessions: a new session (refresh-token family) on every login; refresh rotates the token;
 * presenting a token that was already rotated revokes its whole family (reuse detection); logout
 * and password reset revoke sessions. Access tokens name their session, and authentication checks
 * it is still live, so revocation takes effect at once, not when the access token expires.
 */
import { randomUUID } from 'node:crypto';
import { Op, QueryTypes, type Transaction } from 'sequelize';
import { errors, safeError } from '../errors.js';
import type { RefreshToken, RevokeReason, User } from '../models/index.js';
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
  const rehash = (hashCost(user.passwordHash) ?? 0) < ctx.config.BCRYPT_COST; // upwards only, never down
  const passwordHash = rehash ? await ctx.hasher.hash(input.password) : undefined;
  const tokens = await ctx.sequelize.transaction(async (transaction) => {
    // the same password at a higher cost: the users trigger (migration 0004) ends no session for it
    if (passwordHash) await markRehash(ctx, transaction);
    await user.update(
      { lastLoginAt: new Date(now), ...(passwordHash ? { passwordHash } : {}) },
      { transaction },
    );
    return startSession(ctx, user.id, input.userAgent, now, transaction);
  });
  return { user, tokens };
}

/** Tells the users trigger that the password hash changes but the password does not. */
export async function markRehash(ctx: ServiceContext, transaction: Transaction): Promise<void> {
  await ctx.sequelize.query("SET LOCAL videoflix.password_rehash = 'on'", { transaction });
}

/** A new session (refresh-token family) and its first tokens. */
export async function startSession(
  ctx: ServiceContext,
  userId: number,
  userAgent: string | undefined,
  now: number,
  transaction: Transaction,
): Promise<IssuedTokens> {
  const sessionId = randomUUID();
  const expiresAt = new Date(now + ctx.config.SESSION_MAX_AGE * 1000);
  await ctx.models.AuthSession.create(
    { id: sessionId, userId, expiresAt, userAgent: userAgent?.slice(0, 256) ?? null },
    { transaction },
  );
  return issue(ctx, userId, sessionId, expiresAt, now, transaction);
}

async function issue(
  ctx: ServiceContext,
  userId: number,
  sessionId: string,
  sessionExpiresAt: Date,
  now: number,
  transaction: Transaction,
): Promise<IssuedTokens> {
  const nowS = Math.floor(now / 1000);
  const sessionEndS = Math.floor(sessionExpiresAt.getTime() / 1000);
  const refreshExp = Math.min(nowS + ctx.config.REFRESH_TOKEN_TTL, sessionEndS);
  const refresh = signToken(ctx.jwt, 'refresh', { userId, sessionId, expiresAt: refreshExp }, now);
  await ctx.models.RefreshToken.create(
    {
      jti: refresh.jti,
      sessionId,
      userId,
      issuedAt: new Date(nowS * 1000),
      expiresAt: new Date(refreshExp * 1000),
    },
    { transaction },
  );
  return {
    ...issueAccess(ctx, userId, sessionId, sessionEndS, now),
    refresh: refresh.token,
    refreshExpiresAt: new Date(refreshExp * 1000),
  };
}

function issueAccess(
  ctx: ServiceContext,
  userId: number,
  sessionId: string,
  sessionEndS: number,
  now: number,
) {
  const accessExp = Math.min(Math.floor(now / 1000) + ctx.config.ACCESS_TOKEN_TTL, sessionEndS);
  const access = signToken(ctx.jwt, 'access', { userId, sessionId, expiresAt: accessExp }, now);
  return { access: access.token, accessExpiresAt: new Date(accessExp * 1000) };
}

/**
 * The refresh JWT of a stored row, signed again: HS256 is deterministic, so the same claims (the
 * row's jti, session, user, iat and exp) give the very token issued at rotation, byte for byte.
 */
function resign(ctx: ServiceContext, row: RefreshToken): string | undefined {
  if (!row.issuedAt) return undefined;
  return signToken(
    ctx.jwt,
    'refresh',
    {
      userId: row.userId,
      sessionId: row.sessionId,
      jti: row.jti,
      expiresAt: Math.floor(row.expiresAt.getTime() / 1000),
    },
    row.issuedAt.getTime(),
  ).token;
}

/**
 * Whether a used token is within its grace: rotated less than REFRESH_GRACE_SECONDS ago, and its
 * successor is the session's newest token (unused itself). Returns that successor, or undefined.
 */
async function graceSuccessor(
  ctx: ServiceContext,
  row: RefreshToken,
  now: number,
  transaction: Transaction,
): Promise<RefreshToken | undefined> {
  const graceMs = ctx.config.REFRESH_GRACE_SECONDS * 1000;
  if (!row.usedAt || !row.replacedBy || graceMs <= 0) return undefined;
  if (now - row.usedAt.getTime() > graceMs) return undefined;
  const next = await ctx.models.RefreshToken.findByPk(row.replacedBy, { transaction, lock: true });
  if (!next || next.usedAt || next.sessionId !== row.sessionId || !next.issuedAt) return undefined;
  return next;
}

type RotateOutcome =
  { ok: IssuedTokens; grace?: boolean } | { fail: 'unknown' | 'revoked' | 'expired' | 'inactive' | 'reused' };

/**
 * Rotates a refresh token: the old one stops working; a replay revokes the family. Within the
 * grace window (REFRESH_GRACE_SECONDS after its rotation) the immediately preceding token gets its
 * successor again, the same JWT, plus a fresh access token: two tabs (or a retry after a lost
 * answer) refreshing at once both stay signed in. An older token, or one past the window, is reuse.
 */
export async function refresh(ctx: ServiceContext, token: string): Promise<IssuedTokens> {
  const claims = verifyToken(ctx.jwt, token, 'refresh', ctx.now());
  if (!claims) throw errors.unauthorized('token_not_valid', INVALID_REFRESH);
  const outcome = await ctx.sequelize.transaction(async (transaction): Promise<RotateOutcome> => {
    const row = await ctx.models.RefreshToken.findByPk(claims.jti, { transaction, lock: true });
    if (!row || row.sessionId !== claims.sid || String(row.userId) !== claims.sub) return { fail: 'unknown' };
    const session = await ctx.models.AuthSession.findByPk(row.sessionId, { transaction, lock: true });
    if (!session || session.revokedAt) return { fail: 'revoked' };
    const now = ctx.now();
    if (row.usedAt) {
      const next = await graceSuccessor(ctx, row, now, transaction);
      const again = next && resign(ctx, next);
      if (!next || !again) {
        await revokeSessions(ctx, { id: session.id }, 'reuse_detected', transaction);
        return { fail: 'reused' };
      }
      if (session.expiresAt.getTime() <= now || next.expiresAt.getTime() <= now) return { fail: 'expired' };
      const user = await ctx.models.User.findByPk(row.userId, { transaction });
      if (!user || !user.isActive) return { fail: 'inactive' };
      const sessionEndS = Math.floor(session.expiresAt.getTime() / 1000);
      return {
        grace: true,
        ok: {
          ...issueAccess(ctx, user.id, session.id, sessionEndS, now),
          refresh: again,
          refreshExpiresAt: next.expiresAt,
        },
      };
    }
    if (session.expiresAt.getTime() <= now || row.expiresAt.getTime() <= now) return { fail: 'expired' };
    const user = await ctx.models.User.findByPk(row.userId, { transaction });
    if (!user || !user.isActive) return { fail: 'inactive' };
    const tokens = await issue(ctx, user.id, session.id, session.expiresAt, now, transaction);
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
  if (outcome.grace) ctx.logger.info({ userId: claims.sub, sessionId: claims.sid }, 'refresh within grace');
  return outcome.ok;
}

/**
 * Ends the session the refresh token belongs to. A rotated (old) token counts as reuse, except the
 * immediately preceding one within the grace window (a tab that has not seen the rotation yet).
 */
export async function logout(ctx: ServiceContext, token: string): Promise<void> {
  const claims = verifyToken(ctx.jwt, token, 'refresh', ctx.now());
  if (!claims) throw errors.unauthorized('token_not_valid', INVALID_REFRESH);
  const ok = await ctx.sequelize.transaction(async (transaction) => {
    const row = await ctx.models.RefreshToken.findByPk(claims.jti, { transaction, lock: true });
    if (!row || row.sessionId !== claims.sid) return false;
    const session = await ctx.models.AuthSession.findByPk(row.sessionId, { transaction, lock: true });
    if (!session || session.revokedAt) return false;
    const fine = !row.usedAt || (await graceSuccessor(ctx, row, ctx.now(), transaction)) !== undefined;
    await revokeSessions(ctx, { id: session.id }, fine ? 'logout' : 'reuse_detected', transaction);
    return fine;
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

/**
 * Deletes accounts registered through the API that were never activated, once their activation
 * link has been expired for `graceSeconds`: nobody can activate them any more, and they would keep
 * their address taken for good (a registration whose mail was refused and whose process died before
 * removing the row leaves one). Activated accounts, deactivated later, are never touched.
 */
export async function purgeUnactivatedAccounts(
  ctx: ServiceContext,
  graceSeconds = 24 * 3600,
): Promise<number> {
  const cutoff = new Date(ctx.now() - (ctx.config.ACTIVATION_TOKEN_TTL + graceSeconds) * 1000);
  return ctx.models.User.destroy({
    where: {
      isActive: false,
      activatedAt: { [Op.is]: null },
      createdVia: 'register',
      createdAt: { [Op.lt]: cutoff },
    },
  });
}

/** Runs purgeExpiredSessions and purgeUnactivatedAccounts now and then every `intervalMs`; returns a stop function. */
export function schedulePurge(ctx: ServiceContext, intervalMs: number): () => void {
  const run = () => {
    purgeUnactivatedAccounts(ctx).then(
      (accounts) => {
        if (accounts) ctx.logger.info({ accounts }, 'never-activated accounts purged');
      },
      (err: unknown) => ctx.logger.warn({ err: safeError(err) }, 'account purge failed'),
    );
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
