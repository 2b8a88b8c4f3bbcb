import { DataTypes } from 'sequelize';
import type { Migration } from './types.js';

export const name = '0004-account-security';

/**
 * Issue 21:
 * - `users.created_via`: 'register' (the API) or 'cli' (create-admin), so create-admin can tell an
 *   account it made from one somebody registered (it promotes the latter only with
 *   --promote-existing, and deletes only the former). Rows older than this migration say 'register'.
 * - `refresh_tokens.issued_at`: the `iat` of the token's JWT, so its successor can be signed again,
 *   byte for byte, during the refresh grace window (`services/sessions.ts`).
 * - A trigger that ends every live session of an account whose staff flag, active flag or
 *   password hash changes, whoever changes it (the API, create-admin, SQL by hand). A hash change
 *   that keeps the password (rehash at a higher cost on login) says so with
 *   `SET LOCAL videoflix.password_rehash = 'on'` in its transaction and ends nothing.
 */
export const up: Migration = async ({ context: qi }) => {
  await qi.addColumn('users', 'created_via', {
    type: DataTypes.STRING(16),
    allowNull: false,
    defaultValue: 'register',
  });
  await qi.addColumn('refresh_tokens', 'issued_at', { type: DataTypes.DATE, allowNull: true });
  await qi.sequelize.query(`
    CREATE FUNCTION users_end_sessions_on_change() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      reason text;
    BEGIN
      IF NEW.is_active IS DISTINCT FROM OLD.is_active THEN
        reason := CASE WHEN NEW.is_active THEN 'activated' ELSE 'deactivated' END;
      ELSIF NEW.is_staff IS DISTINCT FROM OLD.is_staff THEN
        reason := 'staff_changed';
      ELSIF NEW.password_hash IS DISTINCT FROM OLD.password_hash
            AND coalesce(current_setting('videoflix.password_rehash', true), '') <> 'on' THEN
        reason := 'password_changed';
      ELSE
        RETURN NEW;
      END IF;
      UPDATE auth_sessions SET revoked_at = now(), revoke_reason = reason, updated_at = now()
        WHERE user_id = NEW.id AND revoked_at IS NULL;
      RETURN NEW;
    END
    $$;
  `);
  await qi.sequelize.query(`
    CREATE TRIGGER users_end_sessions_on_change
      AFTER UPDATE OF is_active, is_staff, password_hash ON users
      FOR EACH ROW EXECUTE FUNCTION users_end_sessions_on_change();
  `);
};

export const down: Migration = async ({ context: qi }) => {
  await qi.sequelize.query('DROP TRIGGER IF EXISTS users_end_sessions_on_change ON users');
  await qi.sequelize.query('DROP FUNCTION IF EXISTS users_end_sessions_on_change()');
  await qi.removeColumn('refresh_tokens', 'issued_at');
  await qi.removeColumn('users', 'created_via');
};
