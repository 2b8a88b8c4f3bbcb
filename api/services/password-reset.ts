/** Password reset: request (same answer whatever the email) and confirm (token once, then all sessions end). */
import { errors } from '../errors.js';
import { validatePassword } from '../security/passwords.js';
import { checkOneTimeToken, encodeUid, makeOneTimeToken } from '../security/tokens.js';
import type { ServiceContext } from './context.js';
import { buildLink, passwordResetMail } from './mails.js';
import { revokeSessions } from './sessions.js';
import { findUserByEmail, findUserByUid, tokenState } from './users.js';

/**
 * The mail goes out after the answer (a background task), so the answer takes the same time
 * whether or not the address belongs to an account; delivery failures are logged, not answered.
 * Only active accounts get a link (as Django's PasswordResetForm does).
 */
export async function requestPasswordReset(ctx: ServiceContext, email: string): Promise<void> {
  const user = await findUserByEmail(ctx.models, email);
  if (!user || !user.isActive) {
    ctx.logger.info({ found: Boolean(user) }, 'password reset requested for no active account');
    return;
  }
  const token = makeOneTimeToken(ctx.keys.passwordReset, 'password_reset', tokenState(user), ctx.now());
  const link = buildLink(ctx.config.FRONTEND_URL, ctx.config.PASSWORD_RESET_PATH, encodeUid(user.id), token);
  const hours = Math.max(1, Math.round(ctx.config.PASSWORD_RESET_TOKEN_TTL / 3600));
  ctx.tasks.run('password-reset-mail', async () => {
    await ctx.mailer.send(passwordResetMail(user.email, link, hours));
    ctx.logger.info({ userId: user.id }, 'password reset mail sent');
  });
}

export const INVALID_RESET_LINK = 'Invalid reset link.';

/** Checks the link only (the original checks it before the body). */
export async function checkResetLink(ctx: ServiceContext, uidb64: string, token: string): Promise<void> {
  const user = await findUserByUid(ctx.models, uidb64);
  if (!user || !user.isActive || !resetTokenOk(ctx, user, token)) {
    throw errors.badRequest('invalid_reset_link', INVALID_RESET_LINK);
  }
}

function resetTokenOk(ctx: ServiceContext, user: Parameters<typeof tokenState>[0], token: string): boolean {
  const check = checkOneTimeToken(
    ctx.keys.passwordReset,
    'password_reset',
    tokenState(user),
    token,
    ctx.config.PASSWORD_RESET_TOKEN_TTL,
    ctx.now(),
  );
  if (check !== 'ok') ctx.logger.info({ userId: user.id, reason: check }, 'reset link refused');
  return check === 'ok';
}

/** Sets the new password under a row lock (so one token changes it once) and revokes every session. */
export async function confirmPasswordReset(
  ctx: ServiceContext,
  uidb64: string,
  token: string,
  newPassword: string,
): Promise<void> {
  await checkResetLink(ctx, uidb64, token);
  const pre = await findUserByUid(ctx.models, uidb64);
  const problems = validatePassword(newPassword, { email: pre?.email });
  if (problems.length) throw errors.validation({ new_password: problems });
  const passwordHash = await ctx.hasher.hash(newPassword);
  await ctx.sequelize.transaction(async (transaction) => {
    const user = await findUserByUid(ctx.models, uidb64, { transaction, lock: true });
    if (!user || !user.isActive || !resetTokenOk(ctx, user, token)) {
      throw errors.badRequest('invalid_reset_link', INVALID_RESET_LINK);
    }
    // revoked first, so they say why (the users trigger would revoke them as 'password_changed')
    const revoked = await revokeSessions(ctx, { userId: user.id }, 'password_reset', transaction);
    await user.update({ passwordHash, passwordChangedAt: new Date(ctx.now()) }, { transaction });
    ctx.logger.info({ userId: user.id, revokedSessions: revoked }, 'password reset');
  });
}
