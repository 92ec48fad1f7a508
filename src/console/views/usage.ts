import type { UsageSummary } from '../../usage/report.js';
import { html, type Html } from '../html.js';
import { when } from './layout.js';

/** The smallest of 1, 2, 5, 10, 20, 50… at or above `value`: the value axis's top. */
export function axisTop(value: number): number {
  let step = 1;
  for (;;) {
    for (const factor of [1, 2, 5]) if (step * factor >= value) return step * factor;
    step *= 10;
  }
}

/** Plot area of the chart inside its viewBox: room on the left for the values, below for the hours. */
const CHART = { width: 560, height: 170, left: 44, right: 8, top: 10, bottom: 24 } as const;

/**
 * 24 hourly bars, issued and refused stacked, as inline SVG (no script, no library),
 * with a value axis (0, half, top) and an hour label (UTC) every fourth bar.
 */
export function usageChart(summary: UsageSummary): Html {
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const baseline = CHART.top + plotHeight;
  const barWidth = plotWidth / summary.hourly.length;
  const top = axisTop(Math.max(1, ...summary.hourly.map((hour) => hour.issued + hour.refused)));
  const y = (value: number) => baseline - (value / top) * plotHeight;
  const ticks = [...new Set([0, top / 2, top])].filter(Number.isInteger);
  const valueAxis = ticks.map((tick) => html`<line class="grid" x1="${CHART.left}" x2="${CHART.width - CHART.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}"></line>
      <text x="${CHART.left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${tick}</text>`);
  const bars = summary.hourly.map((hour, index) => {
    const x = CHART.left + index * barWidth + 1;
    const issuedTop = y(hour.issued);
    const refusedTop = y(hour.issued + hour.refused);
    const label = index % 4 === 0 ? html`<text class="hour" x="${(x + barWidth / 2 - 1).toFixed(1)}" y="${CHART.height - 6}" text-anchor="middle">${hour.hour.toISOString().slice(11, 16)}</text>` : '';
    return html`<rect class="issued" x="${x.toFixed(1)}" y="${issuedTop.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(baseline - issuedTop).toFixed(1)}"></rect>
      <rect class="refused" x="${x.toFixed(1)}" y="${refusedTop.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(issuedTop - refusedTop).toFixed(1)}"></rect>${label}`;
  });
  const description = `Token requests per hour over the last 24 hours: ${summary.last24h.issued} issued and ${summary.last24h.refused} refused in all.`;
  return html`<svg class="chart" viewBox="0 0 ${CHART.width} ${CHART.height}" role="img" aria-labelledby="chart-title"><title id="chart-title">${description}</title>
    ${valueAxis}<line class="axis" x1="${CHART.left}" x2="${CHART.left}" y1="${CHART.top}" y2="${baseline}"></line>${bars}</svg>
    <p class="legend hint"><span class="issued"></span>issued<span class="refused"></span>refused, token requests per hour (hours in UTC, the current one on the right)</p>`;
}

export function usageSection(summary: UsageSummary, now: Date): Html {
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
      : html`<table class="rows"><thead><tr><th scope="col">When</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col">IP</th><th scope="col">User agent</th></tr></thead>
        <tbody>${summary.recent.map((request) => html`<tr><td data-label="When"><div>${when(request.at, now)}</div></td><td data-label="Outcome"><div>${request.outcome}</div></td><td data-label="Reason"><div>${request.reason ?? ''}</div></td><td data-label="IP"><div><code>${request.ip ?? ''}</code></div></td><td data-label="User agent"><div>${request.userAgent ?? ''}</div></td></tr>`)}</tbody></table>`}
  </section>`;
}
