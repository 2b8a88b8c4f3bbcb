/**
 * PostgreSQL 15 from the Debian package: its own data directory (copied from an initdb template
 * made once per machine), port and socket directory, run as the `postgres` OS user (initdb
 * refuses root); after start, the superuser's password, the `videoflix` role and database.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { baseEnv, secret } from '../paths.js';
import type { Check, HostEnvState, LaunchSpec, RecipeContext } from '../types.js';

const execFileP = promisify(execFile);
export const PG_BIN = '/usr/lib/postgresql/15/bin';
/** An initdb result reused by every environment (outside the work tree, like the tools). */
const PG_TEMPLATE = path.join(os.homedir(), '.cache/videoflix/hostenv/postgres-15-C.UTF-8-template');

export interface PostgresUser {
  uid: number;
  gid: number;
}

/**
 * Runs initdb as the `postgres` OS user into <dir>/data: UTF-8, C.UTF-8, local connections
 * trusted (the socket directory is ours), TCP with scram-sha-256. The superuser's password is a
 * placeholder; each environment sets its own after start.
 */
async function initdb(dir: string, user: PostgresUser, log: string): Promise<void> {
  const pwfile = path.join(dir, 'pwfile');
  await fsp.writeFile(pwfile, `${secret(18)}\n`, { mode: 0o600 });
  await fsp.chown(pwfile, user.uid, user.gid);
  const args = ['-D', path.join(dir, 'data'), '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-local=trust'];
  args.push('--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions');
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(
        `${PG_BIN}/initdb`,
        args,
        { uid: user.uid, gid: user.gid, cwd: dir, env: baseEnv(dir) },
        (err, stdout, stderr) => {
          fs.appendFileSync(log, `${stdout}${stderr}`);
          if (err) reject(new Error(`initdb failed: ${stderr || err.message}`));
          else resolve();
        },
      );
    });
  } finally {
    await fsp.rm(pwfile, { force: true });
  }
}

/** The data directory, owned by the `postgres` OS user; returns that user. */
export async function preparePostgres(
  { data }: RecipeContext,
  log: string,
  note: (line: string) => void,
): Promise<PostgresUser> {
  const dir = path.join(data, 'postgres');
  const user = {
    uid: Number((await execFileP('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await execFileP('id', ['-g', 'postgres'])).stdout.trim()),
  };
  await fsp.mkdir(path.join(dir, 'run'), { recursive: true });
  for (const p of [dir, path.join(dir, 'run')]) await fsp.chown(p, user.uid, user.gid);
  const pgData = path.join(dir, 'data');
  if (fs.existsSync(path.join(PG_TEMPLATE, 'PG_VERSION'))) {
    // A cluster made by initdb once, copied (ownership kept): initdb takes seconds on a busy machine.
    await execFileP('cp', ['-a', PG_TEMPLATE, pgData]);
    note('postgres data copied from the initdb template');
    return user;
  }
  await initdb(dir, user, log);
  note('initdb done');
  const tmp = `${PG_TEMPLATE}.${process.pid}.tmp`;
  try {
    await fsp.mkdir(path.dirname(PG_TEMPLATE), { recursive: true });
    await execFileP('cp', ['-a', pgData, tmp]);
    await fsp.rename(tmp, PG_TEMPLATE); // atomic; fails if a concurrent run was first
  } catch {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  return user;
}

export function postgresSpec({ ports, data }: RecipeContext, user: PostgresUser): LaunchSpec {
  const dir = path.join(data, 'postgres');
  const settings = [
    'listen_addresses=127.0.0.1',
    'fsync=off',
    'synchronous_commit=off',
    'full_page_writes=off',
    'max_connections=200',
    'log_min_messages=warning',
  ];
  return {
    name: 'postgres',
    cmd: `${PG_BIN}/postgres`,
    args: [
      '-D',
      path.join(dir, 'data'),
      '-p',
      String(ports.postgres),
      '-k',
      path.join(dir, 'run'),
      ...settings.flatMap((s) => ['-c', s]),
    ],
    env: baseEnv(dir),
    cwd: dir,
    uid: user.uid,
    gid: user.gid,
    stopSignal: 'SIGINT', // "fast" shutdown; SIGTERM would wait for every client to disconnect
  };
}

/** The statements that give the environment its superuser password, role and database (from the plan's URLs). */
export function postgresBootstrapSql(state: HostEnvState): string[] {
  const admin = new URL(state.databaseAdminUrl);
  const app = new URL(state.env.DATABASE_URL);
  const database = app.pathname.slice(1);
  return [
    `ALTER ROLE postgres PASSWORD '${decodeURIComponent(admin.password)}'`,
    `CREATE ROLE ${app.username} LOGIN CREATEDB PASSWORD '${decodeURIComponent(app.password)}'`,
    `CREATE DATABASE ${database} OWNER ${app.username}`,
  ];
}

/** Runs the bootstrap statements over the socket directory as the superuser (local trust). */
export async function bootstrapPostgres({ state, ports, data }: RecipeContext): Promise<void> {
  const dir = path.join(data, 'postgres');
  for (const statement of postgresBootstrapSql(state)) {
    const conn = [
      '-h',
      path.join(dir, 'run'),
      '-p',
      String(ports.postgres),
      '-U',
      'postgres',
      '-d',
      'postgres',
    ];
    await execFileP(`${PG_BIN}/psql`, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...conn, '-c', statement], {
      env: baseEnv(dir),
    });
  }
}

export function postgresReady(state: HostEnvState): Check {
  return async () => {
    try {
      const port = String(state.ports.postgres);
      await execFileP(`${PG_BIN}/pg_isready`, ['-q', '-h', '127.0.0.1', '-p', port, '-t', '2']);
      return true;
    } catch {
      return false;
    }
  };
}
