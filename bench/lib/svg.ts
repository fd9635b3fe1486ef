/**
 * Two tiny chart kinds written as plain SVG: no chart library, no web fonts (the generic
 * 'sans-serif' family), so the files render anywhere, offline.
 */
const W = 720;
const H = 360;
const M = { top: 40, right: 170, bottom: 50, left: 70 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n.toPrecision(2));

function frame(title: string, yLabel: string, body: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2 - M.right / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text transform="translate(16 ${M.top + (H - M.top - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}

function legend(names: string[]): string {
  return names
    .map((n, i) => {
      const y = M.top + 10 + i * 18;
      const x = W - M.right + 15;
      return `<rect x="${x}" y="${y - 9}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${x + 18}" y="${y + 1}">${esc(n)}</text>`;
    })
    .join('\n');
}

/** Lines over categorical x values (e.g. request rates), with a log-scale y axis; `marks` ring and label points (a knee). */
export function lineChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  /** Labels for the x values (default: the values, formatted). */
  xLabels?: string[];
  series: Array<{ name: string; y: Array<number | undefined> }>;
  marks?: Array<{ series: number; index: number; label: string }>;
}): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const values = o.series.flatMap((s) => s.y).filter((v): v is number => v !== undefined && v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, 10))));
  const ys = (v: number) => M.top + ph - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph;
  const xs = (i: number) => M.left + (o.x.length === 1 ? pw / 2 : (i / (o.x.length - 1)) * pw);
  const parts: string[] = [];
  for (let d = lo; d <= hi; d *= 10) {
    parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${ys(d)}" y2="${ys(d)}" stroke="#ddd"/><text x="${M.left - 6}" y="${ys(d) + 4}" text-anchor="end">${fmt(d)}</text>`);
  }
  o.x.forEach((x, i) => parts.push(`<text x="${xs(i)}" y="${M.top + ph + 18}" text-anchor="middle">${esc(o.xLabels?.[i] ?? fmt(x))}</text>`));
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  o.series.forEach((s, si) => {
    const color = COLORS[si % COLORS.length];
    const pts = s.y.map((v, i) => (v !== undefined && v > 0 ? `${xs(i).toFixed(1)},${ys(v).toFixed(1)}` : undefined)).filter(Boolean);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [cx, cy] = p!.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
    }
  });
  for (const m of o.marks ?? []) {
    const v = o.series[m.series]?.y[m.index];
    if (v === undefined || !(v > 0)) continue;
    const [cx, cy] = [xs(m.index), ys(v)];
    parts.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="7" fill="none" stroke="#000" stroke-width="1.5"/><text x="${(cx + 9).toFixed(1)}" y="${(cy - 9).toFixed(1)}" font-size="11">${esc(m.label)}</text>`);
  }
  parts.push(legend(o.series.map((s) => s.name)));
  return frame(o.title, o.yLabel, parts.join('\n'));
}

/** Grouped bars: one group per category, one bar per series, linear y from zero, values printed; a '\n' in a category breaks its label. */
export function barChart(o: { title: string; yLabel: string; categories: string[]; series: Array<{ name: string; values: Array<number | undefined> }> }): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const max = Math.max(1e-9, ...o.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined)));
  const step = Math.pow(10, Math.floor(Math.log10(max)));
  const top = Math.ceil(max / step) * step;
  const ys = (v: number) => M.top + ph - (v / top) * ph;
  const groupW = pw / o.categories.length;
  const barW = (groupW * 0.8) / o.series.length;
  const parts: string[] = [];
  for (let t = 0; t <= top + step / 2; t += step) {
    parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${ys(t)}" y2="${ys(t)}" stroke="#ddd"/><text x="${M.left - 6}" y="${ys(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  o.categories.forEach((c, ci) => {
    const gx = M.left + ci * groupW;
    if (!c.includes('\n')) parts.push(`<text x="${gx + groupW / 2}" y="${M.top + ph + 18}" text-anchor="middle">${esc(c)}</text>`);
    else {
      const lines = c.split('\n').map((line, li) => `<tspan x="${gx + groupW / 2}" dy="${li === 0 ? 0 : 13}">${esc(line)}</tspan>`);
      parts.push(`<text x="${gx + groupW / 2}" y="${M.top + ph + 14}" text-anchor="middle" font-size="10">${lines.join('')}</text>`);
    }
    o.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === undefined) return;
      const x = gx + groupW * 0.1 + si * barW;
      parts.push(`<rect x="${x.toFixed(1)}" y="${ys(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(M.top + ph - ys(v)).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"/>`);
      parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(ys(v) - 4).toFixed(1)}" text-anchor="middle" font-size="10">${fmt(v)}</text>`);
    });
  });
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  parts.push(legend(o.series.map((s) => s.name)));
  return frame(o.title, o.yLabel, parts.join('\n'));
}
