import { asciiLowerCase } from '../shared/text.js';

// How Keygate compares emails (shared/text.ts); users are tenancy's, so their SQL form lives here.
export { asciiLowerCase };

/** asciiLowerCase's fold in SQL, for a column: `translate` maps exactly A-Z, whatever the collation. */
export const ASCII_LOWER_EMAIL_SQL = "translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')";
