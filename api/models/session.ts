import {
  DataTypes,
  Model,
  type CreationOptional,
  type ForeignKey,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from 'sequelize';
import type { User } from './user.js';

export type RevokeReason =
  | 'logout'
  | 'reuse_detected'
  | 'password_reset'
  | 'expired'
  | 'admin'
  // set by the users trigger (migration 0004) when the account changes
  | 'password_changed'
  | 'staff_changed'
  | 'activated'
  | 'deactivated';

/** One login: a family of refresh tokens. Revoking it ends the session everywhere (access tokens included). */
export class AuthSession extends Model<InferAttributes<AuthSession>, InferCreationAttributes<AuthSession>> {
  declare id: string;
  declare userId: ForeignKey<User['id']>;
  declare expiresAt: Date;
  declare revokedAt: CreationOptional<Date | null>;
  declare revokeReason: CreationOptional<RevokeReason | null>;
  declare lastRefreshedAt: CreationOptional<Date | null>;
  declare userAgent: CreationOptional<string | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): typeof AuthSession {
    this.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        revokedAt: { type: DataTypes.DATE, allowNull: true },
        revokeReason: { type: DataTypes.STRING(32), allowNull: true },
        lastRefreshedAt: { type: DataTypes.DATE, allowNull: true },
        userAgent: { type: DataTypes.STRING(256), allowNull: true },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'auth_sessions', modelName: 'AuthSession', underscored: true },
    );
    return this;
  }
}

/** A refresh token, by its JWT id. Used once: rotation marks it used and issues its successor. */
export class RefreshToken extends Model<
  InferAttributes<RefreshToken>,
  InferCreationAttributes<RefreshToken>
> {
  declare jti: string;
  declare sessionId: ForeignKey<AuthSession['id']>;
  declare userId: ForeignKey<User['id']>;
  declare expiresAt: Date;
  /** The JWT's `iat` (null for rows older than migration 0004). */
  declare issuedAt: CreationOptional<Date | null>;
  declare usedAt: CreationOptional<Date | null>;
  declare replacedBy: CreationOptional<string | null>;
  declare createdAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): typeof RefreshToken {
    this.init(
      {
        jti: { type: DataTypes.UUID, primaryKey: true },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        issuedAt: { type: DataTypes.DATE, allowNull: true },
        usedAt: { type: DataTypes.DATE, allowNull: true },
        replacedBy: { type: DataTypes.UUID, allowNull: true },
        createdAt: DataTypes.DATE,
      },
      {
        sequelize,
        tableName: 'refresh_tokens',
        modelName: 'RefreshToken',
        underscored: true,
        updatedAt: false,
      },
    );
    return this;
  }
}
