/** Registration and activation. */
import { UniqueConstraintError } from 'sequelize';
import { AppError, errors } from '../errors.js';
import { MailDeliveryError } from '../infra/mailer.js';
import type { User } from '../models/index.js';
import { checkOneTimeToken, encodeUid, makeOneTimeToken } from '../security/tokens.js';
import type { ServiceContext } from './context.js';
import { activationMail, buildLink } from './mails.js';
import { findUserByEmail, findUserByUid, normalizeEmail, tokenState } from './users.js';

const EMAIL_TAKEN = 'A user with this email already exists.';

export interface Registration {
  user: User;
  token: string;
}

/**
 * Creates an inactive user and mails the activation link. The row is created in a transaction
 * that commits only once the SMTP server accepted the mail: if it refuses, nothing remains.
 */
export async function register(
  ctx: ServiceContext,
  input: { email: string; password: string },
): Promise<Registration> {
  const email = normalizeEmail(input.email);
  if (await findUserByEmail(ctx.models, email)) throw errors.validation({ email: [EMAIL_TAKEN] });
  const passwordHash = await ctx.hasher.hash(input.password);
  try {
    return await ctx.sequelize.transaction(async (transaction) => {
      const user = await ctx.models.User.create({ email, passwordHash }, { transaction });
      const token = makeOneTimeToken(ctx.keys.activation, 'activation', tokenState(user), ctx.now());
      const uid = encodeUid(user.id);
      const link = buildLink(ctx.config.FRONTEND_URL, ctx.config.ACTIVATION_PATH, uid, token);
      await ctx.mailer.send(activationMail(user.email, link));
      return { user, token };
    });
  } catch (err) {
    if (err instanceof UniqueConstraintError) throw errors.validation({ email: [EMAIL_TAKEN] });
    if (err instanceof MailDeliveryError) {
      ctx.logger.error({ err: err.message }, 'activation mail not sent; registration rolled back');
      throw errors.serviceUnavailable('email_unavailable', 'Email service is currently unavailable.');
    }
    throw err;
  }
}

/** The original answers a failed activation with `{"message": ...}`; `detail` is added for the common shape. */
const activationFailed = () =>
  new AppError(400, 'activation_failed', 'Activation failed.', {
    message: 'Activation failed.',
    detail: 'Activation failed.',
  });

/** Activates once: the token is bound to the inactive state, and the update only applies to an inactive row. */
export async function activate(ctx: ServiceContext, uidb64: string, token: string): Promise<User> {
  const user = await findUserByUid(ctx.models, uidb64);
  if (!user) throw activationFailed();
  const check = checkOneTimeToken(
    ctx.keys.activation,
    'activation',
    tokenState(user),
    token,
    ctx.config.ACTIVATION_TOKEN_TTL,
    ctx.now(),
  );
  if (check !== 'ok') {
    ctx.logger.info({ userId: user.id, reason: check }, 'activation refused');
    throw activationFailed();
  }
  const now = new Date(ctx.now());
  const [count] = await ctx.models.User.update(
    { isActive: true, activatedAt: now },
    { where: { id: user.id, isActive: false } },
  );
  if (count !== 1) throw activationFailed(); // a concurrent request used it first
  await user.reload();
  return user;
}
