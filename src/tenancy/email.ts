/**
 * How Keygate compares emails: A-Z fold to a-z and nothing else changes. Unicode case
 * mapping (JavaScript's toLowerCase, PostgreSQL's lower) would let a look-alike in
 * someone else's name sign in as them: the Kelvin sign U+212A lowercases to "k".
 */
export function asciiLowerCase(email: string): string {
  return email.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/** The same fold in SQL, for a column: `translate` maps exactly A-Z, whatever the collation. */
export const ASCII_LOWER_EMAIL_SQL = "translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')";
