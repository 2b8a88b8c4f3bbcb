/**
 * The account models (users, auth_sessions, refresh_tokens) on a Sequelize instance. The catalog's
 * row (`videos`) is registered on its own by `initVideoModel` (models/video.ts, called by
 * createCatalog), and `rate_limits` has no model (rate-limiter-flexible queries it). Models never
 * create tables: migrations do.
 */
import type { Sequelize } from 'sequelize';
import { AuthSession, RefreshToken } from './session.js';
import { User } from './user.js';

export { AuthSession, RefreshToken, User };
export type { RevokeReason } from './session.js';
export type { AccountOrigin } from './user.js';

export interface Models {
  User: typeof User;
  AuthSession: typeof AuthSession;
  RefreshToken: typeof RefreshToken;
}

/**
 * Binds the models to one Sequelize instance. Each call defines fresh subclasses, so several
 * instances (a test's second database, a pool with other settings) never rebind each other's
 * models; code uses the classes returned here (`ctx.models`), never the base classes directly.
 */
export function initModels(sequelize: Sequelize): Models {
  const U = class extends User {}.initModel(sequelize);
  const S = class extends AuthSession {}.initModel(sequelize);
  const R = class extends RefreshToken {}.initModel(sequelize);
  U.hasMany(S, { foreignKey: 'userId', onDelete: 'CASCADE' });
  S.belongsTo(U, { foreignKey: 'userId' });
  S.hasMany(R, { foreignKey: 'sessionId', onDelete: 'CASCADE' });
  R.belongsTo(S, { foreignKey: 'sessionId' });
  R.belongsTo(U, { foreignKey: 'userId' });
  return { User: U, AuthSession: S, RefreshToken: R };
}
