/**
 * Creates (or promotes) a staff user, like Django's `createsuperuser --noinput`:
 *   ADMIN_EMAIL=admin@example.com ADMIN_PASSWORD=... node --import=tsx api/cli/create-admin.ts
 *   node --import=tsx api/cli/create-admin.ts --email admin@example.com --password-stdin < pw.txt
 * The account is active and staff; the password must pass the same rules as registration.
 * With an existing email, the user is made active and staff and the password is set (--update),
 * or the command refuses (default). Reads DATABASE_URL and BCRYPT_COST from the environment.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { env, loadConfigOrExit, z } from '../../common/config/index.js';
import { createSequelize } from '../infra/db.js';
import { initModels } from '../models/index.js';
import { createPasswordHasher, validatePassword } from '../security/passwords.js';
import { findUserByEmail } from '../services/users.js';

const schema = z.object({
  DATABASE_URL: env.str(),
  DATABASE_SSL: env.bool(false),
  BCRYPT_COST: z.coerce.number().int().min(4).max(31).default(12),
  ADMIN_EMAIL: z.string().optional(),
  ADMIN_PASSWORD: z.string().optional(),
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
    },
  });
  const email = (values.email ?? cfg.ADMIN_EMAIL ?? '').trim();
  const password = values['password-stdin']
    ? readFileSync(0, 'utf8').replace(/\r?\n$/, '')
    : cfg.ADMIN_PASSWORD;
  if (!z.email().safeParse(email).success) fail('a valid --email (or ADMIN_EMAIL) is required');
  if (!password) fail('a password is required: ADMIN_PASSWORD or --password-stdin');
  const problems = validatePassword(password, { email });
  if (problems.length) fail(problems.join(' '));

  const sequelize = createSequelize({ url: cfg.DATABASE_URL, ssl: cfg.DATABASE_SSL, poolMax: 2 });
  const models = initModels(sequelize);
  try {
    const passwordHash = await createPasswordHasher(cfg.BCRYPT_COST).hash(password);
    const existing = await findUserByEmail(models, email);
    if (existing && !values.update)
      fail(`a user with email ${email} already exists (use --update to promote it)`);
    const now = new Date();
    if (existing) {
      await existing.update({
        isStaff: true,
        isActive: true,
        passwordHash,
        activatedAt: existing.activatedAt ?? now,
      });
      process.stdout.write(`updated staff user ${existing.id} <${existing.email}>\n`);
    } else {
      const user = await models.User.create({
        email,
        passwordHash,
        isStaff: true,
        isActive: true,
        activatedAt: now,
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
