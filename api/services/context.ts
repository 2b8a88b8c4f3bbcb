/** What the use cases need, built once by createApp from its dependencies. */
import type { Sequelize } from 'sequelize';
import type { Logger } from '../../common/logging/index.js';
import type { ApiConfig } from '../config.js';
import type { Mailer } from '../infra/mailer.js';
import type { Models } from '../models/index.js';
import type { PasswordHasher } from '../security/passwords.js';
import { deriveKey, type JwtSettings } from '../security/tokens.js';
import { BackgroundTasks } from './background.js';

export interface ServiceContext {
  config: ApiConfig;
  sequelize: Sequelize;
  models: Models;
  mailer: Mailer;
  hasher: PasswordHasher;
  logger: Logger;
  tasks: BackgroundTasks;
  /** Milliseconds since the epoch; replaceable so tests can move time. */
  now: () => number;
  jwt: JwtSettings;
  keys: { activation: Buffer; passwordReset: Buffer };
}

export function buildServiceContext(
  base: Omit<ServiceContext, 'jwt' | 'keys' | 'tasks'> & { tasks?: BackgroundTasks },
): ServiceContext {
  const { config } = base;
  return {
    ...base,
    tasks: base.tasks ?? new BackgroundTasks(base.logger),
    jwt: { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE },
    keys: {
      activation: deriveKey(config.JWT_SECRET, 'activation-token'),
      passwordReset: deriveKey(config.JWT_SECRET, 'password-reset-token'),
    },
  };
}
