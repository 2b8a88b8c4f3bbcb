/**
 * The catalog row of a video. Registered on its own (`initVideoModel`) so the catalog area does
 * not touch the account models; the table comes from migration 0003-videos.
 */
import {
  DataTypes,
  Model,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from 'sequelize';
import type { Phase, RenditionStatus } from '../../common/video/index.js';

/** The operator's phases, plus the API's own: an upload in progress, a delete requested, and gone (a tombstone). */
export type CatalogPhase = Phase | 'Uploading' | 'Deleting' | 'Deleted';

export class VideoRow extends Model<InferAttributes<VideoRow>, InferCreationAttributes<VideoRow>> {
  declare id: CreationOptional<number>;
  declare title: string;
  declare description: CreationOptional<string>;
  declare category: CreationOptional<string>;
  declare namespace: CreationOptional<string | null>;
  declare name: CreationOptional<string | null>;
  declare uid: CreationOptional<string | null>;
  declare sourceBucket: CreationOptional<string | null>;
  declare sourceKey: CreationOptional<string | null>;
  /** BIGINT: pg returns it as a string. */
  declare sourceSize: CreationOptional<string | number | null>;
  declare phase: CatalogPhase;
  declare renditions: CreationOptional<RenditionStatus[]>;
  declare error: CreationOptional<string | null>;
  declare masterPlaylistKey: CreationOptional<string | null>;
  declare thumbnailKey: CreationOptional<string | null>;
  declare durationSeconds: CreationOptional<number | null>;
  /** BIGINT: pg returns it as a string. */
  declare statusSequence: CreationOptional<string | number | null>;
  declare resourceVersion: CreationOptional<string | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): typeof VideoRow {
    this.init(
      {
        id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
        title: { type: DataTypes.STRING(200), allowNull: false },
        description: { type: DataTypes.TEXT, allowNull: false, defaultValue: '' },
        category: { type: DataTypes.STRING(100), allowNull: false, defaultValue: '' },
        namespace: { type: DataTypes.STRING(63), allowNull: true },
        name: { type: DataTypes.STRING(253), allowNull: true },
        uid: { type: DataTypes.UUID, allowNull: true },
        sourceBucket: { type: DataTypes.STRING(63), allowNull: true },
        sourceKey: { type: DataTypes.STRING(1024), allowNull: true },
        sourceSize: { type: DataTypes.BIGINT, allowNull: true },
        phase: { type: DataTypes.STRING(16), allowNull: false },
        renditions: { type: DataTypes.JSONB, allowNull: false, defaultValue: [] },
        error: { type: DataTypes.TEXT, allowNull: true },
        masterPlaylistKey: { type: DataTypes.STRING(1024), allowNull: true },
        thumbnailKey: { type: DataTypes.STRING(1024), allowNull: true },
        durationSeconds: { type: DataTypes.DOUBLE, allowNull: true },
        statusSequence: { type: DataTypes.BIGINT, allowNull: true },
        resourceVersion: { type: DataTypes.STRING(64), allowNull: true },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'videos', modelName: 'Video', underscored: true },
    );
    return this;
  }
}

/** The fields the users' list is made of (read raw, without model instances). */
export type VideoListRow = Pick<
  VideoRow,
  'id' | 'createdAt' | 'title' | 'description' | 'thumbnailKey' | 'category'
>;

/** Binds a fresh subclass to `sequelize` (as initModels does for the account models). */
export function initVideoModel(sequelize: Sequelize): typeof VideoRow {
  return class extends VideoRow {}.initModel(sequelize);
}
