import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.ts';
import { findOperatorByEmail, normaliseEmail, type Operator } from './operators.ts';
import { MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.ts';
import {
  ACCOUNT_THROTTLE,
  ADDRESS_THROTTLE,
  accountThrottleKey,
  addressThrottleKey,
  clearAttempts,
  reserveAttempt,
  type ThrottlePolicy,
} from './throttle.ts';

/** The one answer to every failed sign-in, whatever the reason: nothing tells which emails exist. */
export const SIGN_IN_FAILED = 'Email or password is incorrect.';

export interface SignInDeps {
  db: Kysely<Database>;
  /** A hash to check against when the email is unknown, so that both cases cost the same time. */
  decoyHash: () => Promise<string>;
  accountPolicy?: ThrottlePolicy;
  addressPolicy?: ThrottlePolicy;
}

/**
 * Checks an email and password, throttled per account and per client address. Returns the operator, or null for
 * every failure (wrong password, unknown email, locked account or address) so the caller answers one message.
 */
export async function authenticateOperator(
  deps: SignInDeps,
  input: { email: string; password: string; address: string },
  now: number,
): Promise<Operator | null> {
  const email = normaliseEmail(input.email).slice(0, 320);
  const accountKey = accountThrottleKey(email);
  const addressKey = addressThrottleKey(input.address);
  if (!(await reserveAttempt(deps.db, accountKey, deps.accountPolicy ?? ACCOUNT_THROTTLE, now))) return null;
  if (!(await reserveAttempt(deps.db, addressKey, deps.addressPolicy ?? ADDRESS_THROTTLE, now))) return null;
  const operator = email === '' ? undefined : await findOperatorByEmail(deps.db, email);
  const password = input.password.slice(0, MAX_PASSWORD_LENGTH);
  const matches = await verifyPassword(password, operator?.password_hash ?? (await deps.decoyHash()));
  if (operator === undefined || !matches || input.password.length > MAX_PASSWORD_LENGTH) return null;
  await clearAttempts(deps.db, accountKey);
  await clearAttempts(deps.db, addressKey);
  await deps.db
    .updateTable('operators')
    .set({ last_sign_in_at: now })
    .where('id', '=', operator.id)
    .execute();
  return operator;
}
