import type { TimeSeries } from './scenario.js';

const width = 800;
const height = 360;
const margin = { left: 56, right: 16, top: 40, bottom: 40 };
const colors = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** A self-contained SVG line chart of a run's time series (x: virtual seconds). */
export function plotSvg(series: TimeSeries, title: string): string {
  const times = series.timesMs;
  const names = Object.keys(series.lines);
  const xMax = Math.max(1, times.at(-1) ?? 1);
  let yMax = 1;
  for (const name of names) for (const v of series.lines[name]!) if (v > yMax) yMax = v;
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const x = (ms: number) => margin.left + (ms / xMax) * plotW;
  const y = (v: number) => margin.top + plotH - (v / yMax) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="20" font-size="13">${escapeXml(title)}</text>`,
    `<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}" stroke="black"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const ms = (xMax * i) / 5;
    const v = (yMax * i) / 5;
    parts.push(
      `<text x="${x(ms)}" y="${margin.top + plotH + 16}" text-anchor="middle">${(ms / 1000).toFixed(0)} s</text>`,
    );
    parts.push(`<text x="${margin.left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`);
  }
  names.forEach((name, k) => {
    const values = series.lines[name]!;
    const points = values.map((v, i) => `${x(times[i]!).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const color = colors[k % colors.length]!;
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points}"/>`);
    parts.push(
      `<text x="${margin.left + plotW - 260}" y="${margin.top + 14 * (k + 1)}" fill="${color}">${escapeXml(name)}</text>`,
    );
  });
  parts.push(
    `<text x="${margin.left + plotW / 2}" y="${height - 6}" text-anchor="middle">virtual time</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
