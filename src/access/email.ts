// How Keygate compares emails is the users' rule (tenancy/email.ts); re-exported for the admin API and the console.
export { ASCII_LOWER_EMAIL_SQL, asciiLowerCase } from '../tenancy/email.js';
