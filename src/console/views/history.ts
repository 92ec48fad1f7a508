import type { AuditEventView } from '../../audit/query.js';
import { html, type Html } from '../html.js';
import type { OwnerPage } from './keypairs.js';
import { layout, pager, when, type PageFrame } from './layout.js';

/** The name an event's keypair had, from what the event recorded. */
function keypairNameOf(event: AuditEventView): string | undefined {
  for (const side of [event.after, event.before]) {
    if (typeof side === 'object' && side !== null && typeof (side as { name?: unknown }).name === 'string') return (side as { name: string }).name;
  }
  return undefined;
}

/** Events, newest first; `now` for the relative times. */
export function eventTable(events: readonly AuditEventView[], names: ReadonlyMap<string, string>, now: Date): Html {
  if (events.length === 0) return html`<p>No events match.</p>`;
  return html`<table class="rows">
    <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Keypair</th><th scope="col">By</th><th scope="col">From</th></tr></thead>
    <tbody>${events.map((event) => {
      const name = names.get(event.target.id) ?? keypairNameOf(event);
      const actor = event.actor.type === 'system' ? 'Keygate (system)' : `${event.actor.name || event.actor.email || event.actor.id} ${event.actor.email ? `<${event.actor.email}>` : ''}`;
      return html`<tr><td data-label="When"><div>${when(event.at, now)}</div></td><td data-label="Action"><div><code>${event.action}</code></div></td>
        <td data-label="Keypair"><div>${event.target.type === 'keypair' ? html`${name ?? ''} <code>${event.target.id}</code>` : html`${event.target.type} <code>${event.target.id}</code>`}</div></td>
        <td data-label="By"><div>${actor}</div></td><td data-label="From"><div><code>${event.ip ?? ''}</code></div></td></tr>`;
    })}</tbody>
  </table>`;
}

/** The actions the history page filters on. */
const KEYPAIR_ACTIONS = ['keypair.created', 'keypair.updated', 'keypair.disabled', 'keypair.enabled', 'keypair.rotated', 'keypair.deleted'];

/** The most events a history page shows: 100. */
export const HISTORY_PAGE_SIZE = 100;

/** An owner's credential history, with the filter as given (`action`, `from`, `to`: '' when unset). */
export function historyPage(
  frame: PageFrame,
  owner: OwnerPage,
  filter: { action: string; from: string; to: string },
  events: readonly AuditEventView[],
  { now, links }: { now: Date; links: { previous: string | undefined; next: string | undefined } },
): Html {
  const { action, from, to } = filter;
  return layout(frame, `Credential history: ${owner.title}`, html`
      <section class="card">
        <form class="inline" method="get" action="${owner.base}/history" role="search">
          <div><label for="history-action">Action</label><select id="history-action" name="action"><option value="">any</option>
            ${KEYPAIR_ACTIONS.map((value) => html`<option value="${value}"${action === value ? html` selected` : ''}>${value}</option>`)}</select></div>
          <div><label for="history-from">From</label><input type="date" id="history-from" name="from" value="${from}"></div>
          <div><label for="history-to">To</label><input type="date" id="history-to" name="to" value="${to}"></div>
          <div><button type="submit" class="secondary">Filter</button></div>
        </form>
      </section>
      <section class="card">${eventTable(events, new Map(), now)}${pager(links, 'Pages of the history')}</section>`);
}
