/** Looking users up: email is compared case-insensitively everywhere. */
import { Sequelize, type Transaction } from 'sequelize';
import type { Models, User } from '../models/index.js';
import { decodeUid, type TokenUserState } from '../security/tokens.js';

export function normalizeEmail(email: string): string {
  return email.trim();
}

export async function findUserByEmail(
  models: Models,
  email: string,
  transaction?: Transaction,
): Promise<User | null> {
  return models.User.findOne({
    where: Sequelize.where(
      Sequelize.fn('lower', Sequelize.col('email')),
      normalizeEmail(email).toLowerCase(),
    ),
    transaction,
  });
}

export async function findUserByUid(
  models: Models,
  uidb64: string,
  opts: { transaction?: Transaction; lock?: boolean } = {},
): Promise<User | null> {
  const id = decodeUid(uidb64);
  if (id === undefined || id > 2_147_483_647) return null;
  return models.User.findByPk(id, { transaction: opts.transaction, lock: opts.lock ? true : undefined });
}

export function tokenState(u: User): TokenUserState {
  return {
    id: u.id,
    email: u.email,
    isActive: u.isActive,
    passwordHash: u.passwordHash,
    lastLoginAt: u.lastLoginAt ?? null,
    activatedAt: u.activatedAt ?? null,
  };
}
