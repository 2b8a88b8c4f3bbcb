/** A row round-trips through the private PostgreSQL 15 with Sequelize; constraints are real. */
import crypto from 'node:crypto';
import { expect } from 'chai';
import { DataTypes, Sequelize, UniqueConstraintError, type Model, type ModelStatic } from 'sequelize';

describe('foundation: PostgreSQL with Sequelize', function () {
  let sequelize: Sequelize;
  let Item: ModelStatic<Model<{ id: number; slug: string; payload: object }>>;
  const table = `foundation_items_${crypto.randomBytes(4).toString('hex')}`;

  before(async function () {
    sequelize = new Sequelize(process.env.DATABASE_URL ?? '', { logging: false });
    Item = sequelize.define(
      'Item',
      {
        id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
        slug: { type: DataTypes.STRING(40), allowNull: false, unique: true },
        payload: { type: DataTypes.JSONB, allowNull: false },
      },
      { tableName: table },
    );
    await Item.sync();
  });

  after(async function () {
    await Item?.drop();
    await sequelize?.close();
  });

  it('is PostgreSQL 15 on a private data directory', async function () {
    const [rows] = (await sequelize.query(
      'SELECT current_setting($1) AS version, current_user AS who, current_database() AS db',
      {
        bind: ['server_version_num'],
      },
    )) as [Array<{ version: string; who: string; db: string }>, unknown];
    expect(Number(rows[0]?.version)).to.be.within(150000, 159999);
    expect(rows[0]).to.include({ who: 'videoflix', db: 'videoflix' });
  });

  it('writes and reads back a row', async function () {
    const created = await Item.create({
      slug: 'first',
      payload: { renditions: ['480p', '720p'], n: 1 },
    } as never);
    const found = await Item.findOne({ where: { slug: 'first' } });
    expect(found?.get('id')).to.equal(created.get('id'));
    expect(found?.get('payload')).to.deep.equal({ renditions: ['480p', '720p'], n: 1 });
    const [rows] = (await sequelize.query(
      `SELECT payload->'renditions'->>1 AS second FROM "${table}" WHERE slug = 'first'`,
    )) as [Array<{ second: string }>, unknown];
    expect(rows[0]?.second).to.equal('720p');
  });

  it('enforces a unique constraint', async function () {
    const err = await Item.create({ slug: 'first', payload: {} } as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(UniqueConstraintError);
  });
});
