import type { ColumnChart, ColumnDrift, DriftResult } from './types.js';

const REF = '#4c78a8';
const CUR = '#f58518';
const W = 560;
const H = 200;
const PAD = { left: 44, right: 12, top: 10, bottom: 46 };
const MAX_CATEGORIES = 20;

const esc = (s: string): string =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');

function fmt(x: number | null): string {
  if (x === null) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-3 ? x.toExponential(3) : x.toPrecision(4).replace(/\.?0+$/, '');
}

const shares = (xs: number[]): number[] => {
  const total = xs.reduce((s, x) => s + x, 0);
  return xs.map((x) => (total > 0 ? x / total : 0));
};

function axis(maxShare: number): string {
  const y0 = H - PAD.bottom;
  const lines = [0, 0.5, 1].map((f) => {
    const y = y0 - f * (y0 - PAD.top);
    return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" class="grid"/><text x="${PAD.left - 4}" y="${y + 4}" text-anchor="end">${(f * maxShare * 100).toFixed(f === 0 ? 0 : 1)}%</text>`;
  });
  return lines.join('');
}

/** Overlaid bars: reference and current share each bin, drawn half-transparent over each other. */
function bars(labels: string[], ref: number[], cur: number[], overlay: boolean): string {
  const r = shares(ref);
  const c = shares(cur);
  const maxShare = Math.max(1e-9, ...r, ...c);
  const n = Math.max(1, labels.length);
  const plotW = W - PAD.left - PAD.right;
  const slot = plotW / n;
  const y0 = H - PAD.bottom;
  const scale = (v: number): number => (v / maxShare) * (y0 - PAD.top);
  const out: string[] = [axis(maxShare)];
  for (let i = 0; i < labels.length; i++) {
    const x = PAD.left + i * slot;
    const bw = overlay ? slot * 0.95 : slot * 0.42;
    const rh = scale(r[i] ?? 0);
    const ch = scale(c[i] ?? 0);
    const title = `${esc(labels[i] ?? '')}: reference ${((r[i] ?? 0) * 100).toFixed(2)}%, current ${((c[i] ?? 0) * 100).toFixed(2)}%`;
    out.push(`<g><title>${title}</title>`);
    out.push(`<rect x="${(x + slot * 0.025).toFixed(2)}" y="${(y0 - rh).toFixed(2)}" width="${bw.toFixed(2)}" height="${rh.toFixed(2)}" fill="${REF}" fill-opacity="${overlay ? 0.55 : 0.85}"/>`);
    const cx = overlay ? x + slot * 0.025 : x + slot * 0.5;
    out.push(`<rect x="${cx.toFixed(2)}" y="${(y0 - ch).toFixed(2)}" width="${bw.toFixed(2)}" height="${ch.toFixed(2)}" fill="${CUR}" fill-opacity="${overlay ? 0.55 : 0.85}"/></g>`);
  }
  const every = Math.max(1, Math.ceil(labels.length / (overlay ? 6 : 10)));
  labels.forEach((label, i) => {
    if (i % every !== 0 && !(overlay && i === labels.length - 1)) return;
    const x = PAD.left + (overlay ? i * slot : (i + 0.5) * slot);
    const text = label.length > 14 ? `${label.slice(0, 13)}…` : label;
    out.push(`<text x="${x.toFixed(2)}" y="${y0 + 14}" text-anchor="${overlay ? 'start' : 'middle'}">${esc(text)}</text>`);
  });
  return out.join('');
}

function chartSvg(chart: ColumnChart, column: string): string {
  let body: string;
  if (chart.kind === 'numerical') {
    const labels = chart.reference.map((_, i) => fmt(chart.edges[i] ?? 0));
    body = bars(labels, chart.reference, chart.current, true);
  } else {
    const shown = chart.categories.slice(0, MAX_CATEGORIES);
    const rest = chart.categories.length - shown.length;
    const ref = chart.reference.slice(0, MAX_CATEGORIES);
    const cur = chart.current.slice(0, MAX_CATEGORIES);
    if (rest > 0) {
      shown.push(`${rest} more`);
      ref.push(chart.reference.slice(MAX_CATEGORIES).reduce((s, x) => s + x, 0));
      cur.push(chart.current.slice(MAX_CATEGORIES).reduce((s, x) => s + x, 0));
    }
    body = bars(shown, ref, cur, false);
  }
  const legend = `<g transform="translate(${PAD.left},${H - 14})"><rect width="10" height="10" fill="${REF}"/><text x="14" y="9">reference</text><rect x="90" width="10" height="10" fill="${CUR}"/><text x="104" y="9">current</text></g>`;
  return `<svg class="chart" role="img" aria-label="${esc(`distribution of ${column}`)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">${body}${legend}</svg>`;
}

function columnSection(d: ColumnDrift, chart: ColumnChart): string {
  const verdict = d.drift ? '<span class="badge drift">drift</span>' : '<span class="badge ok">no drift</span>';
  const test = d.p_value !== null ? `p-value ${fmt(d.p_value)} (drift when &lt; ${d.threshold})` : `drift when ≥ ${d.threshold}`;
  return `<section class="column" data-column="${esc(d.column)}">
<h2>${esc(d.column)} ${verdict}</h2>
<p class="meta">${d.kind} · method <b>${d.method}</b> · statistic <b>${fmt(d.statistic)}</b> · ${test} · missing ${d.missing_reference} reference / ${d.missing_current} current</p>
${chartSvg(chart, d.column)}
</section>`;
}

const CSS = `body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:16px;margin:0 0 4px}
.summary{display:flex;gap:16px;flex-wrap:wrap;margin:12px 0 20px}.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:140px}
.card b{display:block;font-size:20px}.columns{display:grid;grid-template-columns:repeat(auto-fill,minmax(580px,1fr));gap:16px}
.column{border:1px solid #e3e3e3;border-radius:6px;padding:12px}.meta{color:#555;margin:0 0 6px;font-size:12px}
.badge{font-size:12px;border-radius:10px;padding:1px 8px;vertical-align:middle}.drift{background:#fde0dc;color:#a31515}.ok{background:#dff3e3;color:#1b6e2d}
table{border-collapse:collapse;margin-bottom:20px}td,th{border-bottom:1px solid #eee;padding:3px 10px;text-align:left;font-size:13px}
svg text{font-size:10px;fill:#555}.grid{stroke:#eee}`;

/** Renders a drift result as one self-contained HTML page (inline CSS and SVG, nothing fetched). */
export function renderDriftHtml(result: DriftResult): string {
  const r = result.report;
  const rows = r.columns
    .map((d) => `<tr><td>${esc(d.column)}</td><td>${d.kind}</td><td>${d.method}</td><td>${fmt(d.statistic)}</td><td>${fmt(d.p_value)}</td><td>${d.drift ? 'drift' : 'no drift'}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Berth drift report</title><style>${CSS}</style></head>
<body>
<h1>Data drift report</h1>
<p class="meta">reference ${esc(result.reference)} · current ${esc(result.current)}</p>
<div class="summary" id="summary">
<div class="card">dataset<b>${r.dataset_drift ? 'drift' : 'no drift'}</b></div>
<div class="card">drifted columns<b>${r.drifted_columns} / ${r.columns.length}</b></div>
<div class="card">drift share<b>${(r.drift_share * 100).toFixed(1)}%</b>threshold ${(result.driftShareThreshold * 100).toFixed(0)}%</div>
<div class="card">rows<b>${r.reference_rows} → ${r.current_rows}</b>reference → current</div>
</div>
<table><thead><tr><th>column</th><th>kind</th><th>method</th><th>statistic</th><th>p-value</th><th>verdict</th></tr></thead><tbody>${rows}</tbody></table>
<div class="columns">
${r.columns.map((d, i) => columnSection(d, result.charts[i] as ColumnChart)).join('\n')}
</div>
</body></html>
`;
}
