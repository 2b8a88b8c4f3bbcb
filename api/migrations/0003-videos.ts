import { DataTypes } from 'sequelize';
import type { Migration } from './types.js';

export const name = '0003-videos';

/**
 * The catalog: one row per Video resource (or per upload on its way to becoming one). The
 * operator's status messages and the periodic resync keep phase, renditions and keys in step;
 * status_sequence and resource_version let them ignore stale news.
 */
export const up: Migration = async ({ context: qi }) => {
  await qi.createTable('videos', {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    title: { type: DataTypes.STRING(200), allowNull: false },
    description: { type: DataTypes.TEXT, allowNull: false, defaultValue: '' },
    category: { type: DataTypes.STRING(100), allowNull: false, defaultValue: '' },
    namespace: { type: DataTypes.STRING(63), allowNull: true },
    name: { type: DataTypes.STRING(253), allowNull: true },
    uid: { type: DataTypes.UUID, allowNull: true, unique: true },
    source_bucket: { type: DataTypes.STRING(63), allowNull: true },
    source_key: { type: DataTypes.STRING(1024), allowNull: true },
    source_size: { type: DataTypes.BIGINT, allowNull: true },
    phase: { type: DataTypes.STRING(16), allowNull: false },
    renditions: { type: DataTypes.JSONB, allowNull: false, defaultValue: [] },
    error: { type: DataTypes.TEXT, allowNull: true },
    master_playlist_key: { type: DataTypes.STRING(1024), allowNull: true },
    thumbnail_key: { type: DataTypes.STRING(1024), allowNull: true },
    duration_seconds: { type: DataTypes.DOUBLE, allowNull: true },
    status_sequence: { type: DataTypes.BIGINT, allowNull: true },
    resource_version: { type: DataTypes.STRING(64), allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('videos', ['phase', 'created_at'], { name: 'videos_phase_created_at_idx' });
};

export const down: Migration = async ({ context: qi }) => {
  await qi.dropTable('videos');
};
