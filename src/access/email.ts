export { asciiLowerCase } from '../shared/text.js';

/** asciiLowerCase's fold in SQL, for a column: `translate` maps exactly A-Z, whatever the collation. */
export const ASCII_LOWER_EMAIL_SQL = "translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')";
