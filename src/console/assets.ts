/**
 * The console's stylesheet and script, served from /console/assets/ by Keygate itself:
 * no CDN, no remote fonts, no build step. The Content-Security-Policy allows only these.
 * Colours are variables so that the dark scheme (prefers-color-scheme) swaps them alone.
 */
export const CONSOLE_CSS = `
:root { color-scheme: light dark; --ink: #1d2330; --muted: #4f5869; --line: #d5dae3; --bg: #f6f7f9; --card: #fff; --field: #fff; --field-line: #8a93a3; --accent: #1f5fbf; --on-accent: #fff; --danger: #a8231b; --ok: #1e6b34; --warn: #8a5a00; --top: #17325e;
  --ok-bg: #e3f3e7; --danger-bg: #fbe4e2; --warn-bg: #fff1d6; --notice-bg: #e7effb; --notice-line: #a9c1e8; --error-line: #e6a19b; --error-ink: #6e140e; --warning-line: #e5c27a; --warning-ink: #4d3300; --code-bg: #0f1726; --code-ink: #e8edf6; --issued: #2f6fd0; --refused: #c0392b;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
@media (prefers-color-scheme: dark) {
  :root { --ink: #e4e8ef; --muted: #aab3c2; --line: #3a4354; --bg: #10141b; --card: #1a2029; --field: #10141b; --field-line: #7d879a; --accent: #8fb8ff; --on-accent: #0b1220; --danger: #ff8f86; --ok: #7fd69a; --warn: #f3c46b; --top: #0b1a33;
    --ok-bg: #15321f; --danger-bg: #3d1714; --warn-bg: #3a2c0c; --notice-bg: #172a47; --notice-line: #34507d; --error-line: #7a2e28; --error-ink: #ffd3cf; --warning-line: #7d6120; --warning-ink: #ffe3a8; --code-bg: #0a0e14; --code-ink: #e8edf6; --issued: #6f9ff0; --refused: #ef7a6e; }
}
* { box-sizing: border-box; }
body { margin: 0; line-height: 1.45; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between; padding: .75rem 1rem; background: var(--top); color: #fff; }
header.top a { color: #fff; font-weight: 600; text-decoration: none; }
header.top form { margin: 0; }
header.top .who { font-size: .9rem; }
.layout { display: grid; grid-template-columns: 1fr; gap: 1rem; padding: 1rem; max-width: 1760px; margin: 0 auto; }
@media (min-width: 800px) { .layout { grid-template-columns: 12.5rem minmax(0, 1fr); } }
nav.side { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem; font-size: .95rem; }
nav.side ul { list-style: none; margin: 0; padding: 0; }
nav.side li ul { padding-left: 1rem; }
nav.side a { display: inline-block; padding: .2rem 0; }
nav.side a[aria-current="page"] { font-weight: 700; color: var(--ink); }
main { min-width: 0; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin-bottom: 1rem; overflow-x: auto; }
h1 { font-size: 1.5rem; margin: 0 0 .75rem; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .45rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; white-space: nowrap; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; overflow-wrap: anywhere; }
/* Ids, hints, dates and actions are read as one token: never broken mid-string in a table. */
td code, td time, td .state, .nowrap { white-space: nowrap; overflow-wrap: normal; }
ul.grants { margin: 0; padding: 0; list-style: none; }
/* Free text and names may break anywhere, so the ids beside them keep their room. */
td.prose { overflow-wrap: anywhere; min-width: 6rem; }
.state { display: inline-block; padding: .05rem .45rem; border-radius: 999px; font-size: .8rem; font-weight: 600; }
.state.enabled { background: var(--ok-bg); color: var(--ok); }
.state.disabled { background: var(--danger-bg); color: var(--danger); }
.state.expired { background: var(--warn-bg); color: var(--warn); }
form.inline { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
label { display: block; font-weight: 600; margin: .5rem 0 .2rem; }
.hint { color: var(--muted); font-size: .88rem; font-weight: 400; }
input[type=text], input[type=search], input[type=number], input[type=date], input[type=email], select, textarea { font: inherit; padding: .4rem .5rem; border: 1px solid var(--field-line); border-radius: 6px; width: 100%; max-width: 32rem; background: var(--field); color: var(--ink); }
textarea { min-height: 4.5rem; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: .75rem 0; padding: .5rem .75rem; }
legend { font-weight: 600; padding: 0 .25rem; }
.choice { display: flex; gap: .4rem; align-items: baseline; margin: .25rem 0; font-weight: 400; }
.choice input { flex: none; }
.choice-label { display: inline; font-weight: 400; margin: 0; }
/* The create form shows the fields of the credential chosen only (without :has support, all of them). */
.credential:has(#credential-public_key:not(:checked)) .for-public_key, .credential:has(#credential-federated:not(:checked)) .for-federated { display: none; }
ul.keys { margin: 0; padding-left: 1.1rem; }
ul.keys code { overflow-wrap: anywhere; }
ul.keys form.inline { display: inline-flex; margin-left: .5rem; }
.layout.single { grid-template-columns: 1fr; max-width: 44rem; }
button, a.button { display: inline-block; font: inherit; padding: .45rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; text-decoration: none; font-weight: 600; }
button.secondary, a.button.secondary { background: var(--card); color: var(--accent); }
button.small { padding: .15rem .55rem; font-size: .85rem; }
button.danger { background: var(--danger); border-color: var(--danger); color: var(--on-accent); }
button:disabled { opacity: .5; cursor: not-allowed; }
.header-button { background: transparent; border-color: #fff; color: #fff; padding: .25rem .6rem; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; margin: 0 0 .75rem; }
.empty { text-align: center; padding: 1.5rem 1rem; }
.empty p { margin: 0 0 1rem; }
.error { background: var(--danger-bg); border: 1px solid var(--error-line); color: var(--error-ink); border-radius: 6px; padding: .5rem .75rem; }
.notice { background: var(--notice-bg); border: 1px solid var(--notice-line); border-radius: 6px; padding: .5rem .75rem; }
.warning { background: var(--warn-bg); border: 1px solid var(--warning-line); color: var(--warning-ink); border-radius: 6px; padding: .5rem .75rem; font-weight: 600; }
.secret { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.secret input { font-family: ui-monospace, monospace; max-width: 40rem; }
.copyable { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; justify-content: space-between; margin-top: .75rem; }
.copyable label, .copyable h3 { margin: 0; font-size: 1rem; }
pre { background: var(--code-bg); color: var(--code-ink); padding: .75rem; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; margin: .35rem 0 0; }
pre.code { word-break: normal; overflow-wrap: anywhere; tab-size: 4; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
nav.tabs ul { display: flex; flex-wrap: wrap; gap: .25rem; list-style: none; margin: 0 0 1rem; padding: 0; border-bottom: 1px solid var(--line); }
nav.tabs a { display: inline-block; padding: .45rem .9rem; border: 1px solid transparent; border-bottom: 0; border-radius: 6px 6px 0 0; text-decoration: none; font-weight: 600; }
nav.tabs a[aria-current="page"] { background: var(--card); border-color: var(--line); color: var(--ink); margin-bottom: -1px; }
.pager { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin-top: .75rem; }
.totals { display: flex; flex-wrap: wrap; gap: 1rem; }
.totals div { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .75rem; min-width: 9rem; }
.chart { width: 100%; max-width: 52rem; height: auto; }
.chart .issued { fill: var(--issued); }
.chart .refused { fill: var(--refused); }
.chart .axis { stroke: var(--muted); stroke-width: 1; }
.chart .grid { stroke: var(--line); stroke-width: 1; }
.chart text { fill: var(--muted); font-size: 11px; font-family: inherit; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .25rem 0 .75rem; vertical-align: middle; }
.legend .issued { background: var(--issued); } .legend .refused { background: var(--refused); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: .5rem; background: var(--card); padding: .5rem; z-index: 2; }
/* A phone: each row of a list becomes a card, each cell a labelled line, so no column (nor the state) is cut off. */
@media (max-width: 640px) {
  table.rows thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.rows, table.rows tbody, table.rows tr, table.rows td { display: block; width: 100%; }
  table.rows tr { border: 1px solid var(--line); border-radius: 6px; margin-bottom: .75rem; padding: .25rem .5rem; }
  table.rows td { display: grid; grid-template-columns: 6.5rem minmax(0, 1fr); gap: .5rem; border-bottom: 0; padding: .25rem 0; }
  table.rows td::before { content: attr(data-label); color: var(--muted); font-weight: 600; }
  table.rows td > * { min-width: 0; overflow-wrap: anywhere; }
  td code { white-space: normal; overflow-wrap: anywhere; }
  /* Tabs that wrap read better as pills than as folder tabs on two rows. */
  nav.tabs ul { border-bottom: 0; gap: .4rem; }
  nav.tabs a { padding: .3rem .7rem; border: 1px solid var(--line); border-radius: 999px; }
  nav.tabs a[aria-current="page"] { margin-bottom: 0; background: var(--accent); border-color: var(--accent); color: var(--on-accent); }
  /* The chart scales down with the screen: its labels are drawn larger to stay readable. */
  .chart text { font-size: 20px; }
}
`;

/** Progressive enhancement only: every page works without it. */
export const CONSOLE_JS = `
document.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-copy]');
  if (!button) return;
  const field = document.getElementById(button.getAttribute('data-copy'));
  if (!field) return;
  // An input's value, or the text of a code block (client_id, the curl, a snippet).
  const text = 'value' in field ? field.value : field.textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    if ('select' in field) {
      field.select();
      document.execCommand('copy');
    }
  }
  const status = document.getElementById(button.getAttribute('data-status'));
  if (status) status.textContent = 'Copied to the clipboard.';
});
// The delete button stays disabled until the keypair's name is typed.
for (const input of document.querySelectorAll('[data-confirm-name]')) {
  const button = document.getElementById(input.getAttribute('data-confirm-button'));
  const update = () => { button.disabled = input.value !== input.getAttribute('data-confirm-name'); };
  input.addEventListener('input', update);
  update();
}
`;
