/** PostgreSQL's unique_violation: a concurrent insert won the race for the same key. */
const UNIQUE_VIOLATION = '23505';

/**
 * Whether `error` is PostgreSQL refusing a duplicate key (from pg, or PGlite over its
 * socket), optionally of one named constraint or index. Stores translate it where they
 * call the database, so a race lost to a concurrent create is a conflict (409), as the
 * check before the insert would have said.
 */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint: violated } = error as { code?: unknown; constraint?: unknown };
  return code === UNIQUE_VIOLATION && (constraint === undefined || violated === constraint);
}
