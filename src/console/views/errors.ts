import type { ErrorCode, FieldError } from '../../shared/errors.js';
import { html, type Html } from '../html.js';
import { errorList, layout, type PageFrame } from './layout.js';

/** A refusal's page: its title, and what the admin can do about it after the error's own message. */
const REFUSALS: Record<ErrorCode, { readonly title: string; readonly advice: string }> = {
  validation_failed: { title: 'Not accepted', advice: 'Go back and correct the form.' },
  unauthenticated: { title: 'Signed out', advice: 'Sign in again.' },
  forbidden: { title: 'Not allowed', advice: 'Your admin role does not cover this; ask an operator.' },
  not_found: { title: 'Not found', advice: 'Go to the console.' },
  conflict: { title: 'Conflict', advice: 'Reload the page to see the current state, then try again.' },
  limit_reached: { title: 'Limit reached', advice: 'Disable or delete something first, then try again.' },
  precondition_failed: { title: 'Changed meanwhile', advice: 'Someone else changed this meanwhile: reload the page and make the change again.' },
  payload_too_large: { title: 'Too large', advice: '' },
  unsupported_media_type: { title: 'Not accepted', advice: 'Send the form from the console page.' },
};

/**
 * The page for a domain error: each code its own words (the status comes from the admin
 * API's one mapping). With a session, `frame` keeps the header and the navigation.
 */
export function refusalPage(code: ErrorCode, message: string, errors: readonly FieldError[] | undefined, frame?: PageFrame): Html {
  const { title, advice } = REFUSALS[code];
  switch (code) {
    case 'not_found':
      return notFoundPage(message, frame);
    case 'validation_failed':
      return layout(frame, title, html`<section class="card">${errorList(errors ?? [])}<p>${advice}</p></section>`);
    case 'payload_too_large':
      return layout(frame, title, html`<section class="card"><p>${message}</p></section>`);
    case 'unauthenticated':
      return layout(undefined, title, html`<section class="card"><p role="alert">${message}</p><p><a href="/console/sign-in">${advice}</a></p></section>`);
    default:
      return layout(frame, title, html`<section class="card"><p class="error" role="alert">${message}</p><p>${advice} <a href="/console">Go to the console</a>.</p></section>`);
  }
}

/** Not found; signed in, the header and navigation stay so the admin can go on from here. */
export function notFoundPage(message: string, frame?: PageFrame): Html {
  return layout(frame, 'Not found', html`<section class="card"><p>${message} <a href="/console">Go to the console</a>.</p></section>`);
}

export function databaseUnavailablePage(retryAfterSeconds: number): Html {
  return layout(undefined, 'Service unavailable', html`<section class="card"><p class="error" role="alert">The database did not answer in time. Try again in ${retryAfterSeconds} seconds; a change you sent may or may not have been made, so check before repeating it.</p></section>`);
}

export function internalErrorPage(): Html {
  return layout(undefined, 'Something went wrong', html`<section class="card"><p>The server could not do this. Nothing was changed that the history does not show.</p></section>`);
}
