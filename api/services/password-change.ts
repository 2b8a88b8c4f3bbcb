/**
 * Password change by a signed-in user (ASVS 6.2.2, 6.2.3): the current password is required, the
 * new one passes the same rules as registration, every session of the account ends (the users
 * trigger of migration 0004 does it, in the same transaction) and the caller gets a new session,
 * so the device that changed the password stays signed in and every other one is signed out.
 */
import { errors } from '../errors.js';
import { validatePassword } from '../security/passwords.js';
import type { ServiceContext } from './context.js';
import { passwordChangedMail } from './mails.js';
import { startSession, type IssuedTokens } from './sessions.js';

export const WRONG_OLD_PASSWORD = 'Your old password was entered incorrectly. Please enter it again.';
export const SAME_PASSWORD = 'The new password must differ from the old one.';

export async function changePassword(
  ctx: ServiceContext,
  input: { userId: number; oldPassword: string; newPassword: string; userAgent?: string },
): Promise<IssuedTokens> {
  const user = await ctx.models.User.findByPk(input.userId);
  if (!user || !user.isActive) throw errors.unauthorized();
  if (!(await ctx.hasher.verify(input.oldPassword, user.passwordHash))) {
    ctx.logger.info({ userId: user.id }, 'password change refused: wrong old password');
    throw errors.validation({ old_password: [WRONG_OLD_PASSWORD] });
  }
  const problems = validatePassword(input.newPassword, { email: user.email });
  if (input.newPassword === input.oldPassword) problems.push(SAME_PASSWORD);
  if (problems.length) throw errors.validation({ new_password: problems });
  const passwordHash = await ctx.hasher.hash(input.newPassword);
  const now = ctx.now();
  const tokens = await ctx.sequelize.transaction(async (transaction) => {
    const locked = await ctx.models.User.findByPk(user.id, { transaction, lock: true });
    // changed meanwhile (another change, a reset): the old password checked above is stale
    if (!locked || !locked.isActive || locked.passwordHash !== user.passwordHash) {
      throw errors.validation({ old_password: [WRONG_OLD_PASSWORD] });
    }
    await locked.update({ passwordHash, passwordChangedAt: new Date(now) }, { transaction });
    return startSession(ctx, user.id, input.userAgent, now, transaction);
  });
  ctx.logger.info({ userId: user.id }, 'password changed; other sessions ended');
  ctx.tasks.run('password-changed-mail', async () => {
    await ctx.mailer.send(passwordChangedMail(user.email, ctx.config.FRONTEND_URL));
  });
  return tokens;
}
