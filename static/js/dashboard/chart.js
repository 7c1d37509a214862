/*
 * The chart of the success rate over time, in plain SVG at the size it is
 * shown: a bar per period (succeeded and failed runs), the rate as a line
 * with dots, runs on the left axis and percent on the right. Its description
 * gives the whole log's figures from the server's summary.
 */

import { num } from '../dom.js';
import { pct, plural } from '../format.js';
import { els } from './els.js';
import { svg, svgText, svgTitle } from './svg.js';

const MARGIN = { l: 44, r: 48, t: 14, b: 40 };

// A round top for the runs axis, in four steps.
function niceMax(v) {
  if (v <= 4) return 4;
  const step = Math.pow(10, Math.floor(Math.log10(v / 4)));
  const candidates = [1, 2, 2.5, 5, 10];
  for (let i = 0; i < candidates.length; i++) {
    if (candidates[i] * step * 4 >= v) return candidates[i] * step * 4;
  }
  return Math.ceil(v / (4 * step)) * 4 * step;
}

// The chart's geometry for a box of width W: {W, H, m, iw, ih}.
function frame(box) {
  // Drawn at the size it is shown, so that its text stays legible on a phone.
  const W = Math.max(300, Math.round(box.clientWidth || 720));
  const H = W < 520 ? 230 : 270;
  return { W: W, H: H, m: MARGIN, iw: W - MARGIN.l - MARGIN.r, ih: H - MARGIN.t - MARGIN.b };
}

// Grid and axes: four steps, the right axis in percent.
function drawGrid(root, f, maxRuns) {
  const m = f.m;
  const grid = svg('g', { 'aria-hidden': 'true' }, root);
  for (let g = 0; g <= 4; g++) {
    const y = m.t + f.ih - (f.ih * g) / 4;
    svg('line', { x1: m.l, x2: m.l + f.iw, y1: y, y2: y, class: g === 0 ? 'axis-line' : 'grid-line' }, grid);
    svgText(grid, { x: m.l - 8, y: y + 4, 'text-anchor': 'end', class: 'tick-label' },
      String(Math.round((maxRuns * g) / 4 * 10) / 10));
    svgText(grid, { x: m.l + f.iw + 8, y: y + 4, 'text-anchor': 'start', class: 'tick-label' }, (25 * g) + '%');
  }
  const mid = m.t + f.ih / 2;
  svgText(grid, { x: 12, y: mid, class: 'axis-label', 'text-anchor': 'middle', transform: 'rotate(-90 12 ' + mid + ')' },
    'runs');
  svgText(grid, { x: f.W - 8, y: mid, class: 'axis-label', 'text-anchor': 'middle',
    transform: 'rotate(90 ' + (f.W - 8) + ' ' + mid + ')' }, 'success rate');
}

// One period's stacked bar (succeeded below, failed above) in group.
function drawBar(group, f, cx, barW, p, maxRuns) {
  const base = f.m.t + f.ih;
  const okH = (f.ih * (p.runs - p.failed)) / maxRuns;
  const failH = (f.ih * p.failed) / maxRuns;
  if (okH > 0) svg('rect', { x: cx - barW / 2, y: base - okH, width: barW, height: okH, rx: 2, class: 'bar-ok' }, group);
  if (failH > 0) {
    svg('rect', { x: cx - barW / 2, y: base - okH - failH, width: barW, height: failH, rx: 2, class: 'bar-fail' }, group);
  }
}

// The bars, with their labels; returns the group and the rate's points [{x, y, rate, p}].
function drawBars(root, f, periods, maxRuns) {
  const n = periods.length;
  const slot = f.iw / n;
  const barW = Math.max(2, Math.min(42, slot * 0.62));
  const bars = svg('g', { class: 'bars' }, root);
  const points = [];
  const labelEvery = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(f.iw / 90))));
  periods.forEach(function (p, i) {
    const cx = f.m.l + slot * i + slot / 2;
    const group = svg('g', { class: 'period' }, bars);
    svgTitle(group, p.long + ': ' + plural(p.runs, 'run', 'runs') + (p.runs && p.rate != null ? ', ' +
      (p.runs - p.failed) + ' succeeded (' + Math.round(p.rate * 100) + '%)' : ''));
    drawBar(group, f, cx, barW, p, maxRuns);
    if (p.rate != null) points.push({ x: cx, y: f.m.t + f.ih - f.ih * p.rate, rate: p.rate, p: p });
    if (i % labelEvery === 0) {
      svgText(root, { x: cx, y: f.m.t + f.ih + 18, 'text-anchor': 'middle', class: 'tick-label' }, p.label);
    }
  });
  return { bars: bars, points: points };
}

// The rate line (over periods that had runs) with its area and dots.
function drawRateLine(root, f, bars, points) {
  if (points.length > 1) {
    const base = f.m.t + f.ih;
    const line = points.map(function (pt, i) { return (i ? 'L' : 'M') + pt.x.toFixed(1) + ' ' + pt.y.toFixed(1); }).join(' ');
    const area = line + ' L' + points[points.length - 1].x.toFixed(1) + ' ' + base + ' L' + points[0].x.toFixed(1) +
      ' ' + base + ' Z';
    // The area goes under the bars, the line over them.
    root.insertBefore(svg('path', { d: area, class: 'rate-area', 'aria-hidden': 'true' }), bars);
    svg('path', { d: line, class: 'rate-line', 'aria-hidden': 'true' }, root);
  }
  const dots = svg('g', { class: 'dots' }, root);
  points.forEach(function (pt) {
    const dot = svg('circle', { cx: pt.x, cy: pt.y, r: 4.5, class: 'rate-dot' }, dots);
    svgTitle(dot, pt.p.long + ': ' + Math.round(pt.rate * 100) + '% succeeded');
  });
}

// The chart in words: what it shows, and the whole log's figures from the summary.
function describe(data, runs, summary) {
  const shown = plural(runs, 'run', 'runs') + ' over ' + plural(data.periods.length, 'period', 'periods') +
    ' of a ' + data.unit + '.';
  const total = summary ? num(summary.total) : null;
  const whole = total ? ' In the whole log, ' + plural(total, 'run', 'runs') + ', ' + pct(summary.success_rate) +
    ' succeeded.' : '';
  return shown + whole + ' The table below the chart has the numbers.';
}

// Draws data ({periods, unit}, or null) in the chart's box; summary: the server's, or null.
export function drawChart(data, summary) {
  const box = els.trendChart;
  box.textContent = '';
  const f = frame(box);
  const periods = data ? data.periods : [];
  const runs = periods.reduce(function (s, p) { return s + p.runs; }, 0);
  const root = svg('svg', {
    viewBox: '0 0 ' + f.W + ' ' + f.H, role: 'img', 'aria-labelledby': 'trend-svg-title trend-svg-desc',
    preserveAspectRatio: 'xMidYMid meet'
  }, box);
  svg('title', { id: 'trend-svg-title' }, root).textContent = 'Success rate over time';
  const desc = svg('desc', { id: 'trend-svg-desc' }, root);
  const maxRuns = niceMax(Math.max(1, Math.max.apply(null, periods.map(function (p) { return p.runs; }).concat([0]))));
  drawGrid(root, f, maxRuns);
  if (!runs) {
    svgText(root, { x: f.m.l + f.iw / 2, y: f.m.t + f.ih / 2, 'text-anchor': 'middle', class: 'empty-label' },
      'No runs yet: run a script in the playground.');
    desc.textContent = 'No runs have been logged yet.';
    return;
  }
  const drawn = drawBars(root, f, periods, maxRuns);
  drawRateLine(root, f, drawn.bars, drawn.points);
  desc.textContent = describe(data, runs, summary);
}
