import {
  DataTypes,
  Model,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from 'sequelize';

export type AccountOrigin = 'register' | 'cli';

export class User extends Model<InferAttributes<User>, InferCreationAttributes<User>> {
  declare id: CreationOptional<number>;
  /** As entered (trimmed); unique case-insensitively through the index on lower(email). */
  declare email: string;
  declare passwordHash: string;
  declare isActive: CreationOptional<boolean>;
  declare isStaff: CreationOptional<boolean>;
  declare lastLoginAt: CreationOptional<Date | null>;
  declare activatedAt: CreationOptional<Date | null>;
  declare passwordChangedAt: CreationOptional<Date | null>;
  /** Who made the account: the API's registration, or the create-admin command. */
  declare createdVia: CreationOptional<AccountOrigin>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): typeof User {
    this.init(
      {
        id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
        email: { type: DataTypes.STRING(254), allowNull: false },
        passwordHash: { type: DataTypes.STRING(255), allowNull: false },
        isActive: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        isStaff: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        lastLoginAt: { type: DataTypes.DATE, allowNull: true },
        activatedAt: { type: DataTypes.DATE, allowNull: true },
        passwordChangedAt: { type: DataTypes.DATE, allowNull: true },
        createdVia: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'register' },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'users', modelName: 'User', underscored: true },
    );
    return this;
  }
}
