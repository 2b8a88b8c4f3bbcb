import { DataTypes } from 'sequelize';
import type { Migration } from './types.js';

export const name = '0002-sessions';

export const up: Migration = async ({ context: qi }) => {
  await qi.createTable('auth_sessions', {
    id: { type: DataTypes.UUID, primaryKey: true },
    user_id: {
      type: DataTypes.INTEGER,
      allowNull: false,
      references: { model: 'users', key: 'id' },
      onDelete: 'CASCADE',
    },
    expires_at: { type: DataTypes.DATE, allowNull: false },
    revoked_at: { type: DataTypes.DATE, allowNull: true },
    revoke_reason: { type: DataTypes.STRING(32), allowNull: true },
    last_refreshed_at: { type: DataTypes.DATE, allowNull: true },
    user_agent: { type: DataTypes.STRING(256), allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('auth_sessions', ['user_id'], { name: 'auth_sessions_user_id_idx' });

  await qi.createTable('refresh_tokens', {
    jti: { type: DataTypes.UUID, primaryKey: true },
    session_id: {
      type: DataTypes.UUID,
      allowNull: false,
      references: { model: 'auth_sessions', key: 'id' },
      onDelete: 'CASCADE',
    },
    user_id: {
      type: DataTypes.INTEGER,
      allowNull: false,
      references: { model: 'users', key: 'id' },
      onDelete: 'CASCADE',
    },
    expires_at: { type: DataTypes.DATE, allowNull: false },
    used_at: { type: DataTypes.DATE, allowNull: true },
    replaced_by: { type: DataTypes.UUID, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('refresh_tokens', ['session_id'], { name: 'refresh_tokens_session_id_idx' });
  await qi.addIndex('refresh_tokens', ['expires_at'], { name: 'refresh_tokens_expires_at_idx' });
};

export const down: Migration = async ({ context: qi }) => {
  await qi.dropTable('refresh_tokens');
  await qi.dropTable('auth_sessions');
};
