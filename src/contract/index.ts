import type { TSchema } from 'typebox';
import { AuditEventListSchema, AuditEventSchema, KeypairUsageSchema } from './activity.js';
import { FieldErrorSchema, ProblemSchema } from './common.js';
import { KeypairCreateSchema, KeypairListSchema, KeypairRotateSchema, KeypairSchema, KeypairUpdateSchema, KeypairWithSecretSchema } from './keypairs.js';
import {
  ResourceServerCreateSchema,
  ResourceServerListSchema,
  ResourceServerSchema,
  ResourceServerUpdateSchema,
  ScopeDefinitionInputSchema,
  ScopeDefinitionSchema,
} from './resource_servers.js';
import { TrustedIssuerCreateSchema, TrustedIssuerListSchema, TrustedIssuerSchema, TrustedIssuerUpdateSchema } from './trusted_issuers.js';
import {
  AccountListSchema,
  AccountSchema,
  AdminGrantSchema,
  EnvironmentListSchema,
  EnvironmentSchema,
  MembershipSchema,
  MeMembershipSchema,
  MeSchema,
  NameInputSchema,
  UserCreateSchema,
  UserListSchema,
  UserSchema,
  UserUpdateSchema,
  UserWithMembershipsSchema,
} from './tenancy.js';

/**
 * The admin API's contract: one schema per request body and per view. The views'
 * TypeScript types are exported here for clients (the CLI); the OpenAPI document
 * names each schema below as a component and refers to it wherever it is used.
 */
export const NAMED_SCHEMAS: Readonly<Record<string, TSchema>> = {
  Keypair: KeypairSchema,
  KeypairWithSecret: KeypairWithSecretSchema,
  KeypairList: KeypairListSchema,
  Account: AccountSchema,
  AccountList: AccountListSchema,
  Environment: EnvironmentSchema,
  EnvironmentList: EnvironmentListSchema,
  User: UserSchema,
  UserList: UserListSchema,
  Membership: MembershipSchema,
  UserWithMemberships: UserWithMembershipsSchema,
  MeMembership: MeMembershipSchema,
  Me: MeSchema,
  AdminGrant: AdminGrantSchema,
  ScopeDefinition: ScopeDefinitionSchema,
  ResourceServer: ResourceServerSchema,
  ResourceServerList: ResourceServerListSchema,
  TrustedIssuer: TrustedIssuerSchema,
  TrustedIssuerList: TrustedIssuerListSchema,
  AuditEvent: AuditEventSchema,
  AuditEventList: AuditEventListSchema,
  KeypairUsage: KeypairUsageSchema,
  FieldError: FieldErrorSchema,
  Problem: ProblemSchema,
  KeypairCreate: KeypairCreateSchema,
  KeypairUpdate: KeypairUpdateSchema,
  KeypairRotate: KeypairRotateSchema,
  NameInput: NameInputSchema,
  UserCreate: UserCreateSchema,
  UserUpdate: UserUpdateSchema,
  ScopeDefinitionInput: ScopeDefinitionInputSchema,
  ResourceServerCreate: ResourceServerCreateSchema,
  ResourceServerUpdate: ResourceServerUpdateSchema,
  TrustedIssuerCreate: TrustedIssuerCreateSchema,
  TrustedIssuerUpdate: TrustedIssuerUpdateSchema,
};

export type { AuditEventListView, AuditEventView, KeypairUsageView, UsageSummaryView } from './activity.js';
export type { KeypairCreateBody, KeypairListView, KeypairRotateBody, KeypairUpdateBody, KeypairView, KeypairWithSecretView, RotateResultView } from './keypairs.js';
export type { ResourceServerCreateBody, ResourceServerListView, ResourceServerUpdateBody, ResourceServerView, ScopeDefinitionView } from './resource_servers.js';
export type { TrustedIssuerCreateBody, TrustedIssuerListView, TrustedIssuerUpdateBody, TrustedIssuerView } from './trusted_issuers.js';
export type {
  AccountListView,
  AccountView,
  AdminGrantView,
  EnvironmentListView,
  EnvironmentView,
  MembershipView,
  MeView,
  NameInput,
  UserCreateBody,
  UserListView,
  UserUpdateBody,
  UserView,
  UserWithMembershipsView,
} from './tenancy.js';
export type { FieldErrorView, ProblemView } from './common.js';
