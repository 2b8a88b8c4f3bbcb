import { DataTypes } from 'sequelize';
import type { Migration } from './types.js';

export const name = '0005-rate-limits';

/**
 * The shared store of the rate limits (rate-limiter-flexible's PostgreSQL layout, created here
 * rather than by the library at run time): one row per counter, `key` = limiter prefix + client
 * address and/or a hash of the account's email, `points` used in the current window, `expire` the
 * window's end in epoch milliseconds. Every API replica counts in the same rows, and a restart
 * loses nothing. Rows are deleted an hour after they expire (by the API, every five minutes).
 */
export const up: Migration = async ({ context: qi }) => {
  await qi.createTable('rate_limits', {
    key: { type: DataTypes.STRING(255), primaryKey: true },
    points: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    expire: { type: DataTypes.BIGINT, allowNull: true },
  });
  await qi.addIndex('rate_limits', ['expire'], { name: 'rate_limits_expire_idx' });
};

export const down: Migration = async ({ context: qi }) => {
  await qi.dropTable('rate_limits');
};
