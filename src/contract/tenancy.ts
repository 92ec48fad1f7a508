import Type, { type Static } from 'typebox';
import { closed, entityName, idOf, listOf, nullable, nullableIdOf, timestamp, userName } from './common.js';
import { EMAIL_MAX_LENGTH, EMAIL_MIN_LENGTH } from '../shared/limits.js';
import { optional, refine } from './validate.js';

/** Accounts, environments, users and their admin grants. */

const ACCOUNT_PROPERTIES = {
  id: idOf('acc', 'Account id.'),
  name: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('closed')]),
  createdAt: timestamp,
  updatedAt: timestamp,
};

export const AccountSchema = closed(ACCOUNT_PROPERTIES);
export const AccountListSchema = listOf(AccountSchema, 'Every active account the caller can see; one page (`nextCursor` is null).');
export const EnvironmentSchema = closed({ ...ACCOUNT_PROPERTIES, id: idOf('env', 'Environment id.'), accountId: idOf('acc', 'The account it belongs to.') });
export const EnvironmentListSchema = listOf(EnvironmentSchema, "The account's active environments; one page (`nextCursor` is null).");

const USER_PROPERTIES = {
  id: idOf('usr', 'User id.'),
  email: Type.String({ description: 'Lower-cased; unique regardless of case.' }),
  name: Type.String(),
  isOperator: Type.Boolean(),
  createdAt: timestamp,
  updatedAt: timestamp,
};

const MEMBERSHIP_PROPERTIES = {
  role: Type.Literal('admin'),
  accountId: nullableIdOf('acc', 'Set for an account grant; null for an environment grant.'),
  environmentId: nullableIdOf('env', 'Set for an environment grant; null for an account grant.'),
  createdAt: timestamp,
};

export const UserSchema = closed(USER_PROPERTIES);
export const UserListSchema = listOf(UserSchema, 'Every user; one page (`nextCursor` is null).');
export const MembershipSchema = closed(MEMBERSHIP_PROPERTIES, { description: 'An admin grant, on an account or on one environment.' });
export const UserWithMembershipsSchema = closed({ ...USER_PROPERTIES, memberships: Type.Array(MembershipSchema) });
export const MeMembershipSchema = closed(
  {
    ...MEMBERSHIP_PROPERTIES,
    accountId: idOf('acc', 'The account granted, or the account of the environment granted.'),
    accountName: Type.String(),
    environmentName: nullable(Type.String(), 'Null for an account grant.'),
  },
  { description: 'A grant of the caller, with the names a console shows.' },
);
export const MeSchema = closed({ ...USER_PROPERTIES, memberships: Type.Array(MeMembershipSchema) }, { description: 'The caller and its grants.' });
export const AdminGrantSchema = closed(
  {
    userId: idOf('usr', 'The user granted.'),
    role: Type.Literal('admin'),
    accountId: idOf('acc', 'The account granted, or the account of the environment granted.'),
    environmentId: nullableIdOf('env', 'The environment granted; null for an account grant.'),
  },
  { description: 'An admin grant as PUT answers it.' },
);

export type AccountView = Static<typeof AccountSchema>;
export type AccountListView = Static<typeof AccountListSchema>;
export type EnvironmentView = Static<typeof EnvironmentSchema>;
export type EnvironmentListView = Static<typeof EnvironmentListSchema>;
export type UserView = Static<typeof UserSchema>;
export type UserListView = Static<typeof UserListSchema>;
export type MembershipView = Static<typeof MembershipSchema>;
export type UserWithMembershipsView = Static<typeof UserWithMembershipsSchema>;
export type MeView = Static<typeof MeSchema>;
export type AdminGrantView = Static<typeof AdminGrantSchema>;

// Request bodies.

/** An email address: trimmed, something@somewhere. */
export const email = (description?: string) =>
  refine(Type.String({ minLength: EMAIL_MIN_LENGTH, maxLength: EMAIL_MAX_LENGTH, pattern: '^[^@\\s]+@[^@\\s]+$', ...(description && { description }) }), {
    trim: true,
    patternMessage: 'must be an email address',
  });

export const NameInputSchema = closed({ name: entityName() });
export const UserCreateSchema = closed({
  email: email('Stored lower-cased; unique regardless of case.'),
  name: optional(userName({ default: '' })),
  isOperator: optional(Type.Boolean({ default: false })),
});
export const UserUpdateSchema = closed({
  name: optional(userName()),
  isOperator: optional(Type.Boolean({ description: 'Operators cannot remove their own operator role (409).' })),
});
/** `:userId` of PUT .../admins/:userId when it is an email address (an invitation). */
export const AdminInviteSchema = closed({ userId: email() });

export type NameInput = Static<typeof NameInputSchema>;
export type UserCreateBody = Static<typeof UserCreateSchema>;
export type UserUpdateBody = Static<typeof UserUpdateSchema>;
