/**
 * RabbitMQ from the Debian package, loopback only, with its own epmd started as a process we own
 * (the one Erlang would spawn daemonizes and outlives the broker). Its default user comes from the
 * plan's AMQP_URL.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { baseEnv } from '../paths.js';
import { amqpAnswers, tcpOpen } from '../probes.js';
import type { Check, HostEnvState, LaunchSpec, RecipeContext } from '../types.js';

const RABBIT_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const EPMD = '/usr/bin/epmd';

/** rabbitmq.conf: the default user of the plan, loopback users allowed, warnings to the console. */
export function rabbitConf(amqpUrl: string): string {
  const url = new URL(amqpUrl);
  return [
    `default_user = ${decodeURIComponent(url.username)}`,
    `default_pass = ${decodeURIComponent(url.password)}`,
    'loopback_users = none',
    'log.console = true',
    'log.console.level = warning',
    'log.file = false',
    '',
  ].join('\n');
}

export async function prepareRabbit({ state, data }: RecipeContext): Promise<void> {
  const dir = path.join(data, 'rabbitmq');
  await fsp.mkdir(dir, { recursive: true });
  await Promise.all([
    fsp.writeFile(path.join(dir, 'enabled_plugins'), '[].\n'),
    fsp.writeFile(path.join(dir, 'rabbitmq-env.conf'), '# private broker: no system settings\n'),
    fsp.writeFile(path.join(dir, 'rabbitmq.conf'), rabbitConf(state.env.AMQP_URL)),
  ]);
}

function erlEnv({ ports, data }: RecipeContext): Record<string, string> {
  const dir = path.join(data, 'rabbitmq');
  return { ...baseEnv(dir), ERL_EPMD_PORT: String(ports.epmd), ERL_EPMD_ADDRESS: '127.0.0.1' };
}

export function epmdSpec(ctx: RecipeContext): LaunchSpec {
  const { ports, data } = ctx;
  return {
    name: 'epmd',
    cmd: EPMD,
    args: ['-port', String(ports.epmd), '-address', '127.0.0.1'],
    env: erlEnv(ctx),
    cwd: path.join(data, 'rabbitmq'),
  };
}

export function rabbitSpec(ctx: RecipeContext): LaunchSpec {
  const { ports, data } = ctx;
  const dir = path.join(data, 'rabbitmq');
  return {
    name: 'rabbitmq',
    cmd: RABBIT_SERVER,
    args: [],
    env: {
      ...erlEnv(ctx),
      RABBITMQ_NODENAME: `videoflix-${ports.amqp}@localhost`,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(ports.amqp),
      RABBITMQ_DIST_PORT: String(ports.rabbitDist),
      RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: path.join(dir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
      RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
      RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false',
    },
    cwd: dir,
    stopTimeoutMs: 20_000,
  };
}

export function epmdReady(state: HostEnvState): Check {
  return () => tcpOpen(state.ports.epmd as number);
}

export function rabbitReady(state: HostEnvState): Check {
  return () => amqpAnswers(state.env.AMQP_URL);
}
