/**
 * Creates (or promotes, or deletes) a staff user, like Django's `createsuperuser --noinput`:
 *   ADMIN_EMAIL=admin@example.com ADMIN_PASSWORD=... node --import=tsx api/cli/create-admin.ts
 *   node --import=tsx api/cli/create-admin.ts --email admin@example.com --password-stdin < pw.txt
 * The account is active and staff; the password must pass the same rules as registration.
 *
 * With an existing email the command refuses, unless:
 * - `--update`, and this command made the account: it is made active and staff again and the
 *   password is set;
 * - `--update --promote-existing`: the same for an account somebody registered through the API
 *   (deliberately explicit: whoever registered that address first would become staff).
 * Changing the password, the staff or the active flag ends every session of the account (the users
 * trigger of migration 0004), so nobody keeps a session opened before the change.
 *
 *   node --import=tsx api/cli/create-admin.ts --delete --email admin@example.com
 * deletes an account this command made (its sessions go with it); it refuses accounts registered
 * through the API, and succeeds when there is no such account (a clean-up can run twice).
 *
 * Reads DATABASE_URL, NODE_ENV and BCRYPT_COST (at least 10 in production) from the environment.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { env, loadConfigOrExit, z } from '../../common/config/index.js';
import { bcryptCostProblem, bcryptCostSchema } from '../config.js';
import { createSequelize, waitForDatabase } from '../infra/db.js';
import { initModels } from '../models/index.js';
import { createPasswordHasher, validatePassword } from '../security/passwords.js';
import { findUserByEmail } from '../services/users.js';

const schema = z
  .object({
    NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
    DATABASE_URL: env.str(),
    DATABASE_SSL: env.bool(false),
    BCRYPT_COST: bcryptCostSchema,
    ADMIN_EMAIL: z.string().optional(),
    ADMIN_PASSWORD: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    const problem = bcryptCostProblem(c.NODE_ENV, c.BCRYPT_COST);
    if (problem) ctx.addIssue({ code: 'custom', path: ['BCRYPT_COST'], message: problem });
  });

function fail(message: string): never {
  process.stderr.write(`create-admin: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const cfg = loadConfigOrExit(schema);
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      update: { type: 'boolean', default: false },
      'promote-existing': { type: 'boolean', default: false },
      delete: { type: 'boolean', default: false },
    },
  });
  const email = (values.email ?? cfg.ADMIN_EMAIL ?? '').trim();
  if (!z.email().safeParse(email).success) fail('a valid --email (or ADMIN_EMAIL) is required');
  if (values.delete && (values.update || values['promote-existing'] || values['password-stdin']))
    fail('--delete takes no other option than --email');
  if (values['promote-existing'] && !values.update) fail('--promote-existing needs --update');

  const sequelize = createSequelize({ url: cfg.DATABASE_URL, ssl: cfg.DATABASE_SSL, poolMax: 2 });
  const models = initModels(sequelize);
  try {
    // helm test's Pod runs this in its first seconds, when the NetworkPolicy enforcer may still refuse it
    await waitForDatabase(sequelize, 60_000);
    if (values.delete) {
      const existing = await findUserByEmail(models, email);
      if (!existing) {
        process.stdout.write(`no user <${email}>: nothing to delete\n`);
        return;
      }
      if (existing.createdVia !== 'cli')
        fail(`user ${existing.id} <${existing.email}> was not created by create-admin: not deleted`);
      await existing.destroy(); // sessions and refresh tokens go with it (ON DELETE CASCADE)
      process.stdout.write(`deleted staff user ${existing.id} <${existing.email}>\n`);
      return;
    }

    const password = values['password-stdin']
      ? readFileSync(0, 'utf8').replace(/\r?\n$/, '')
      : cfg.ADMIN_PASSWORD;
    if (!password) fail('a password is required: ADMIN_PASSWORD or --password-stdin');
    const problems = validatePassword(password, { email });
    if (problems.length) fail(problems.join(' '));
    const passwordHash = await createPasswordHasher(cfg.BCRYPT_COST).hash(password);
    const existing = await findUserByEmail(models, email);
    if (existing && !values.update)
      fail(`a user with email ${email} already exists (use --update to reset it)`);
    if (existing && existing.createdVia !== 'cli' && !values['promote-existing'])
      fail(
        `a user with email ${email} exists and was not created by create-admin: ` +
          'add --promote-existing to make that account staff (whoever registered it would become staff)',
      );
    const now = new Date();
    if (existing) {
      await existing.update({
        isStaff: true,
        isActive: true,
        passwordHash,
        passwordChangedAt: now,
        activatedAt: existing.activatedAt ?? now,
      });
      process.stdout.write(`updated staff user ${existing.id} <${existing.email}>; its sessions ended\n`);
    } else {
      const user = await models.User.create({
        email,
        passwordHash,
        isStaff: true,
        isActive: true,
        activatedAt: now,
        createdVia: 'cli',
      });
      process.stdout.write(`created staff user ${user.id} <${user.email}>\n`);
    }
  } finally {
    await sequelize.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`create-admin failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
