/** Registration and activation. */
import { randomBytes } from 'node:crypto';
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
 * Creates an inactive user and mails the activation link. No transaction is held open while the
 * SMTP server is talked to (a slow mail server must not hold database connections): the row is
 * committed first, and removed again if the server refuses the mail (it is inactive meanwhile, so
 * nobody can sign in with it; a concurrent registration of the same address is answered "taken").
 *
 * The answer's `token` is the activation token only with REGISTER_RETURNS_ACTIVATION_TOKEN=true
 * (the original's behaviour); by default it is a random value of the same length that activates
 * nothing (43 random base64url characters), so only the owner of the mailbox can activate the account.
 */
export async function register(
  ctx: ServiceContext,
  input: { email: string; password: string },
): Promise<Registration> {
  const email = normalizeEmail(input.email);
  if (await findUserByEmail(ctx.models, email)) throw errors.validation({ email: [EMAIL_TAKEN] });
  const passwordHash = await ctx.hasher.hash(input.password);
  let user: User;
  try {
    user = await ctx.models.User.create({ email, passwordHash, createdVia: 'register' });
  } catch (err) {
    if (err instanceof UniqueConstraintError) throw errors.validation({ email: [EMAIL_TAKEN] });
    throw err;
  }
  const token = makeOneTimeToken(ctx.keys.activation, 'activation', tokenState(user), ctx.now());
  const link = buildLink(ctx.config.FRONTEND_URL, ctx.config.ACTIVATION_PATH, encodeUid(user.id), token);
  try {
    await ctx.mailer.send(activationMail(user.email, link));
  } catch (err) {
    if (!(err instanceof MailDeliveryError)) throw err;
    // only a row still untouched (inactive, never activated) is removed
    await ctx.models.User.destroy({ where: { id: user.id, isActive: false, activatedAt: null } });
    ctx.logger.error({ err: err.message }, 'activation mail not sent; registration removed');
    throw errors.serviceUnavailable('email_unavailable', 'Email service is currently unavailable.');
  }
  return { user, token: ctx.config.REGISTER_RETURNS_ACTIVATION_TOKEN ? token : decoyToken() };
}

/** What the `token` key of the registration answer holds by default: random, activating nothing. */
export function decoyToken(): string {
  return randomBytes(32).toString('base64url');
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
