/** Request bodies of the account endpoints (field names of the original API), with DRF's messages. */
import { z } from 'zod';
import { MAX_PASSWORD_LENGTH, validatePassword } from '../../security/passwords.js';

const REQUIRED = 'This field is required.';

/** A required string field: "This field is required." when absent, DRF's wording for blank/wrong type. */
const field = () =>
  z.string({
    error: (iss) => (iss.input === undefined || iss.input === null ? REQUIRED : 'Not a valid string.'),
  });

const email = () =>
  field()
    .trim()
    .min(1, 'This field may not be blank.')
    .max(254, 'Ensure this field has no more than 254 characters.')
    .pipe(z.email({ error: 'Enter a valid email address.' }));

/** Passwords are never trimmed; the length cap keeps hashing cheap for garbage input. */
const password = () =>
  field()
    .min(1, 'This field may not be blank.')
    .max(1024, `Ensure this field has no more than ${MAX_PASSWORD_LENGTH} characters.`);

export const registerSchema = z
  .object({ email: email(), password: password(), confirmed_password: password() })
  .superRefine((v, ctx) => {
    if (v.password !== v.confirmed_password) {
      ctx.addIssue({ code: 'custom', path: ['confirmed_password'], message: 'Passwords do not match.' });
    }
    for (const message of validatePassword(v.password, { email: v.email })) {
      ctx.addIssue({ code: 'custom', path: ['password'], message });
    }
  });

export const loginSchema = z.object({ email: email(), password: password() });

export const passwordResetSchema = z.object({ email: email() });

export const passwordConfirmSchema = z
  .object({ new_password: password(), confirm_password: password() })
  .superRefine((v, ctx) => {
    if (v.new_password !== v.confirm_password) {
      ctx.addIssue({ code: 'custom', path: ['confirm_password'], message: 'Passwords do not match.' });
    }
  });

/** Addition: POST /api/password_change/ (field names as the reset confirmation, plus old_password). */
export const passwordChangeSchema = z
  .object({ old_password: password(), new_password: password(), confirm_password: password() })
  .superRefine((v, ctx) => {
    if (v.new_password !== v.confirm_password) {
      ctx.addIssue({ code: 'custom', path: ['confirm_password'], message: 'Passwords do not match.' });
    }
  });

export type RegisterBody = z.infer<typeof registerSchema>;
