import type { Kysely } from 'kysely';
import { PipesError } from '../../errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { Database, OperatorTable } from '../../store/schema.ts';
import { hashPassword, passwordProblem } from './passwords.ts';

export type Operator = OperatorTable;

const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** Emails are compared lower-cased and trimmed: `Ada@Example.com ` and `ada@example.com` are one operator. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

export function emailProblem(email: string): string | null {
  return EMAIL_PATTERN.test(normaliseEmail(email)) ? null : 'Enter an email address such as ada@example.com.';
}

export async function countOperators(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('operators')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export async function findOperatorByEmail(
  db: Kysely<Database>,
  email: string,
): Promise<Operator | undefined> {
  return db.selectFrom('operators').selectAll().where('email', '=', normaliseEmail(email)).executeTakeFirst();
}

export async function listOperators(db: Kysely<Database>): Promise<Operator[]> {
  return db.selectFrom('operators').selectAll().orderBy('id').execute();
}

/** Creates an operator. The password is hashed with scrypt; it is never stored or logged in clear. */
export async function createOperator(
  db: Kysely<Database>,
  input: { email: string; password: string },
  now: number,
  isUniqueViolation: (error: unknown) => boolean,
): Promise<Operator> {
  const email = normaliseEmail(input.email);
  const problem = emailProblem(email) ?? passwordProblem(input.password);
  if (problem !== null) throw new PipesError('invalid_operator', problem, { status: 422 });
  const row: Operator = {
    id: newId('operator', now),
    email,
    password_hash: await hashPassword(input.password),
    created_at: now,
    updated_at: now,
    last_sign_in_at: null,
  };
  try {
    await db.insertInto('operators').values(row).execute();
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new PipesError('operator_exists', `An operator with the email ${email} already exists.`, {
        status: 409,
      });
    }
    throw error;
  }
  return row;
}

/** Deletes an operator (by id or email) and ends every session of theirs at once. */
export async function deleteOperator(db: Kysely<Database>, idOrEmail: string): Promise<Operator> {
  return db.transaction().execute(async (trx) => {
    const operator = isId('operator', idOrEmail)
      ? await trx.selectFrom('operators').selectAll().where('id', '=', idOrEmail).executeTakeFirst()
      : await findOperatorByEmail(trx, idOrEmail);
    if (operator === undefined) {
      throw new PipesError('operator_not_found', `No operator "${idOrEmail}".`, { status: 404 });
    }
    await trx.deleteFrom('operator_sessions').where('operator_id', '=', operator.id).execute();
    await trx.deleteFrom('operators').where('id', '=', operator.id).execute();
    return operator;
  });
}
