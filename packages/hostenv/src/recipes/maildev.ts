/** maildev: the SMTP server that captures mail, and its REST API (`${MAIL_API_URL}/email`). */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { BIN_DIR, baseEnv } from '../paths.js';
import { httpAnswers, tcpOpen } from '../probes.js';
import type { Check, HostEnvState, LaunchSpec, RecipeContext } from '../types.js';

export async function prepareMaildev({ data }: RecipeContext): Promise<void> {
  await fsp.mkdir(path.join(data, 'maildev'), { recursive: true });
}

export function maildevSpec({ ports, data }: RecipeContext): LaunchSpec {
  const dir = path.join(data, 'maildev');
  return {
    name: 'maildev',
    cmd: path.join(BIN_DIR, 'maildev'),
    args: [
      '--smtp',
      String(ports.smtp),
      '--ip',
      '127.0.0.1',
      '--web',
      String(ports.mailWeb),
      '--web-ip',
      '127.0.0.1',
    ],
    env: baseEnv(dir),
    cwd: dir, // maildev looks for config files in its cwd and parents
  };
}

export function maildevReady(state: HostEnvState): Check {
  const p = state.ports;
  return async () =>
    (await httpAnswers(`http://127.0.0.1:${p.mailWeb}/api/healthz`, true)) &&
    (await tcpOpen(p.smtp as number));
}
