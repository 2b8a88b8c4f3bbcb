import { DataTypes } from 'sequelize';
import type { Migration } from './types.js';

export const name = '0001-users';

export const up: Migration = async ({ context: qi }) => {
  await qi.createTable('users', {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    email: { type: DataTypes.STRING(254), allowNull: false },
    password_hash: { type: DataTypes.STRING(255), allowNull: false },
    is_active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    is_staff: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    last_login_at: { type: DataTypes.DATE, allowNull: true },
    activated_at: { type: DataTypes.DATE, allowNull: true },
    password_changed_at: { type: DataTypes.DATE, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  // email is the login identifier, unique regardless of case
  await qi.sequelize.query('CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))');
};

export const down: Migration = async ({ context: qi }) => {
  await qi.dropTable('users');
};
