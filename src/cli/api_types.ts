/**
 * The admin API's response shapes as the CLI reads them: the contract's view types
 * (src/contract/), so a field the API adds or renames reaches the CLI's typecheck.
 */
import type { AuditEventView, KeypairUsageView, KeypairView, KeypairWithSecretView, MeView, ProblemView } from '../contract/index.js';

/** A keypair as listed, shown, or just created (then with its one-time secret). */
export type Keypair = KeypairView & Partial<Pick<KeypairWithSecretView, 'clientSecret'>>;
export type AuditEvent = AuditEventView;
export type Usage = KeypairUsageView;
export type Counts = KeypairUsageView['last24h'];
/** `GET /me`: who the token speaks for and what they administer. */
export type Me = MeView;
/** An application/problem+json error body. */
export type Problem = ProblemView;

/** Every list of the admin API: a page of items and the cursor of the next one. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}
