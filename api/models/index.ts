/** Registers every model on a Sequelize instance. Models never create tables: migrations do. */
import type { Sequelize } from 'sequelize';
import { AuthSession, RefreshToken } from './session.js';
import { User } from './user.js';

export { AuthSession, RefreshToken, User };
export type { RevokeReason } from './session.js';

export interface Models {
  User: typeof User;
  AuthSession: typeof AuthSession;
  RefreshToken: typeof RefreshToken;
}

export function initModels(sequelize: Sequelize): Models {
  User.initModel(sequelize);
  AuthSession.initModel(sequelize);
  RefreshToken.initModel(sequelize);
  User.hasMany(AuthSession, { foreignKey: 'userId', onDelete: 'CASCADE' });
  AuthSession.belongsTo(User, { foreignKey: 'userId' });
  AuthSession.hasMany(RefreshToken, { foreignKey: 'sessionId', onDelete: 'CASCADE' });
  RefreshToken.belongsTo(AuthSession, { foreignKey: 'sessionId' });
  RefreshToken.belongsTo(User, { foreignKey: 'userId' });
  return { User, AuthSession, RefreshToken };
}
