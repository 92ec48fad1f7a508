import type { UsageSummary } from '../../usage/report.js';
import { html, type Html } from '../html.js';
import { when } from './layout.js';

/** 24 hourly bars, issued and refused stacked, as inline SVG (no script, no library). */
export function usageChart(summary: UsageSummary): Html {
  const width = 480;
  const height = 120;
  const barWidth = width / summary.hourly.length;
  const top = Math.max(1, ...summary.hourly.map((hour) => hour.issued + hour.refused));
  const bars = summary.hourly.map((hour, index) => {
    const issuedHeight = (hour.issued / top) * (height - 10);
    const refusedHeight = (hour.refused / top) * (height - 10);
    const x = index * barWidth + 1;
    return html`<rect class="issued" x="${x.toFixed(1)}" y="${(height - issuedHeight).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${issuedHeight.toFixed(1)}"></rect>
      <rect class="refused" x="${x.toFixed(1)}" y="${(height - issuedHeight - refusedHeight).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${refusedHeight.toFixed(1)}"></rect>`;
  });
  const description = `Token requests per hour over the last 24 hours: ${summary.last24h.issued} issued and ${summary.last24h.refused} refused in all.`;
  return html`<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title"><title id="chart-title">${description}</title>${bars}</svg>
    <p class="legend hint"><span class="issued"></span>issued<span class="refused"></span>refused (oldest hour on the left)</p>`;
}

export function usageSection(summary: UsageSummary): Html {
  return html`<section class="card" aria-labelledby="usage-heading">
    <h2 id="usage-heading">Usage</h2>
    <div class="totals">
      <div><strong>Last 24 hours</strong><br>${summary.last24h.issued} issued, ${summary.last24h.refused} refused</div>
      <div><strong>Last 7 days</strong><br>${summary.last7d.issued} issued, ${summary.last7d.refused} refused</div>
    </div>
    ${usageChart(summary)}
    <h3>Refusals by reason (7 days)</h3>
    ${summary.refusals.length === 0
      ? html`<p>None.</p>`
      : html`<table><thead><tr><th scope="col">Reason</th><th scope="col">24 hours</th><th scope="col">7 days</th></tr></thead>
        <tbody>${summary.refusals.map((entry) => html`<tr><td><code>${entry.key}</code></td><td>${entry.refused24h}</td><td>${entry.refused7d}</td></tr>`)}</tbody></table>`}
    <h3>Last ${summary.recent.length} requests</h3>
    ${summary.recent.length === 0
      ? html`<p>No token requests yet.</p>`
      : html`<table><thead><tr><th scope="col">When</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col">IP</th><th scope="col">User agent</th></tr></thead>
        <tbody>${summary.recent.map((request) => html`<tr><td>${when(request.at)}</td><td>${request.outcome}</td><td>${request.reason ?? ''}</td><td><code>${request.ip ?? ''}</code></td><td>${request.userAgent ?? ''}</td></tr>`)}</tbody></table>`}
  </section>`;
}
