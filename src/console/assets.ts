/**
 * The console's stylesheet and script, served from /console/assets/ by Keygate itself:
 * no CDN, no remote fonts, no build step. The Content-Security-Policy allows only these.
 */
export const CONSOLE_CSS = `
:root { --ink: #1d2330; --muted: #4f5869; --line: #d5dae3; --bg: #f6f7f9; --card: #fff; --accent: #1f5fbf; --danger: #a8231b; --ok: #1e6b34; --warn: #8a5a00; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
* { box-sizing: border-box; }
body { margin: 0; line-height: 1.45; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between; padding: .75rem 1rem; background: #17325e; color: #fff; }
header.top a { color: #fff; font-weight: 600; text-decoration: none; }
header.top form { margin: 0; }
header.top .who { font-size: .9rem; }
.layout { display: grid; grid-template-columns: 1fr; gap: 1rem; padding: 1rem; max-width: 1200px; margin: 0 auto; }
@media (min-width: 800px) { .layout { grid-template-columns: 15rem 1fr; } }
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
th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; overflow-wrap: anywhere; }
.state { display: inline-block; padding: .05rem .45rem; border-radius: 999px; font-size: .8rem; font-weight: 600; }
.state.enabled { background: #e3f3e7; color: var(--ok); }
.state.disabled { background: #fbe4e2; color: var(--danger); }
.state.expired { background: #fff1d6; color: var(--warn); }
form.inline { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
label { display: block; font-weight: 600; margin: .5rem 0 .2rem; }
.hint { color: var(--muted); font-size: .88rem; font-weight: 400; }
input[type=text], input[type=search], input[type=number], input[type=date], input[type=email], select, textarea { font: inherit; padding: .4rem .5rem; border: 1px solid #8a93a3; border-radius: 6px; width: 100%; max-width: 32rem; background: #fff; color: var(--ink); }
textarea { min-height: 4.5rem; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: .75rem 0; padding: .5rem .75rem; }
legend { font-weight: 600; padding: 0 .25rem; }
.choice { display: flex; gap: .4rem; align-items: baseline; margin: .25rem 0; font-weight: 400; }
.choice input { flex: none; }
.choice-label { display: inline; font-weight: 400; margin: 0; }
.layout.single { grid-template-columns: 1fr; max-width: 44rem; }
button { font: inherit; padding: .45rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--danger); border-color: var(--danger); }
.header-button { background: transparent; border-color: #fff; color: #fff; padding: .25rem .6rem; }
.error { background: #fbe4e2; border: 1px solid #e6a19b; color: #6e140e; border-radius: 6px; padding: .5rem .75rem; }
.notice { background: #e7effb; border: 1px solid #a9c1e8; border-radius: 6px; padding: .5rem .75rem; }
.warning { background: #fff1d6; border: 1px solid #e5c27a; color: #4d3300; border-radius: 6px; padding: .5rem .75rem; font-weight: 600; }
.secret { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.secret input { font-family: ui-monospace, monospace; max-width: 40rem; }
pre { background: #0f1726; color: #e8edf6; padding: .75rem; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.totals { display: flex; flex-wrap: wrap; gap: 1rem; }
.totals div { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .75rem; min-width: 9rem; }
.chart { width: 100%; max-width: 44rem; height: auto; }
.chart .issued { fill: #2f6fd0; }
.chart .refused { fill: #c0392b; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .25rem 0 .75rem; vertical-align: middle; }
.legend .issued { background: #2f6fd0; } .legend .refused { background: #c0392b; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: .5rem; background: #fff; padding: .5rem; z-index: 2; }
`;

/** Progressive enhancement only: every page works without it. */
export const CONSOLE_JS = `
document.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-copy]');
  if (!button) return;
  const field = document.getElementById(button.getAttribute('data-copy'));
  if (!field) return;
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    field.select();
    document.execCommand('copy');
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
