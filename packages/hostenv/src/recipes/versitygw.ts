/** versitygw: S3 on the posix backend, internal IAM (tests can create per-component users with its admin API). */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { BIN_DIR, baseEnv } from '../paths.js';
import { httpAnswers } from '../probes.js';
import type { Check, HostEnvState, LaunchSpec, RecipeContext } from '../types.js';

export const S3_REGION = 'us-east-1';

export async function prepareVersitygw({ data }: RecipeContext): Promise<void> {
  await Promise.all([
    fsp.mkdir(path.join(data, 's3'), { recursive: true }),
    fsp.mkdir(path.join(data, 's3-iam'), { recursive: true }),
  ]);
}

export function versitygwSpec({ state, ports, data }: RecipeContext): LaunchSpec {
  return {
    name: 'versitygw',
    cmd: path.join(BIN_DIR, 'versitygw'),
    // internal IAM (users in iam/users.json): the root account works as before, and tests can create
    // per-component users with the admin API (common/storage/versitygw-admin.ts)
    args: [
      '--port',
      `127.0.0.1:${ports.s3}`,
      '--region',
      S3_REGION,
      '--quiet',
      '--iam-dir',
      path.join(data, 's3-iam'),
      'posix',
      path.join(data, 's3'),
    ],
    env: {
      ...baseEnv(data),
      ROOT_ACCESS_KEY: state.env.S3_ACCESS_KEY,
      ROOT_SECRET_KEY: state.env.S3_SECRET_KEY,
    },
    cwd: data,
  };
}

export function versitygwReady(state: HostEnvState): Check {
  return () => httpAnswers(`http://127.0.0.1:${state.ports.s3}/`);
}
