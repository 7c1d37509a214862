/*
 * The success rate over time: by day from the server's trend (its runs,
 * failures and success rate per day), or in finer periods over the recent
 * runs (the newest pages of /api/logs/successes and /api/logs/failures,
 * which the server does not bucket). Drawn by chart.js, with the same
 * numbers in a table.
 *
 * A page may be cut (500 rows at most): then only the stretch of time that
 * both pages cover whole is drawn, so that no period lacks half its runs.
 */

import { arr, isObject, make, num, str } from '../dom.js';
import { parseTime } from '../format.js';
import { drawChart } from './chart.js';
import { els } from './els.js';

// Bucket sizes for "recent runs", smallest first (ms).
const BUCKETS = [
  { ms: 5e3, label: '5 seconds' }, { ms: 10e3, label: '10 seconds' }, { ms: 30e3, label: '30 seconds' },
  { ms: 60e3, label: 'minute' }, { ms: 5 * 60e3, label: '5 minutes' }, { ms: 15 * 60e3, label: '15 minutes' },
  { ms: 3600e3, label: 'hour' }, { ms: 3 * 3600e3, label: '3 hours' }, { ms: 6 * 3600e3, label: '6 hours' },
  { ms: 86400e3, label: 'day' }
];
const MAX_BUCKETS = 36;

// analysis: the /api/logs/analysis answer; recent: {successes, failures} pages.
const state = { analysis: null, recent: null, scale: 'recent' };

// The time a page is whole from (its oldest row when it was cut), or null when whole.
function pageHorizon(page) {
  if (!isObject(page) || !num(page.next_before)) return null;
  const times = arr(page.items).filter(isObject).map(function (item) { return parseTime(item.created_at); })
    .filter(function (t) { return t != null; });
  return times.length ? Math.min.apply(null, times) : Infinity;
}

// Recent runs as [{t, ok}], oldest first, within the time both pages cover; null without pages.
function recentRuns(recent) {
  if (!recent) return null;
  const horizon = Math.max(pageHorizon(recent.successes) ?? -Infinity, pageHorizon(recent.failures) ?? -Infinity);
  const runs = [];
  [['successes', true], ['failures', false]].forEach(function (pair) {
    arr(recent[pair[0]] && recent[pair[0]].items).forEach(function (item) {
      if (!isObject(item)) return;
      const t = parseTime(item.created_at);
      if (t != null && t >= horizon) runs.push({ t: t, ok: pair[1] });
    });
  });
  runs.sort(function (a, b) { return a.t - b.t; });
  return runs;
}

// The smallest bucket that holds first..last in MAX_BUCKETS periods, or null.
function bucketFor(first, last) {
  for (let i = 0; i < BUCKETS.length; i++) {
    if (Math.floor(last / BUCKETS[i].ms) - Math.floor(first / BUCKETS[i].ms) + 1 <= MAX_BUCKETS) return BUCKETS[i];
  }
  return null;
}

// An empty period starting at t, labelled for a bucket of size ms.
function emptyPeriod(t, ms) {
  const d = new Date(t);
  const label = ms >= 86400e3
    ? d.toLocaleDateString([], { day: 'numeric', month: 'short' })
    : ms < 60e3 ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
      : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const long = ms >= 86400e3 ? d.toLocaleDateString([], { dateStyle: 'medium' })
    : d.toLocaleDateString([], { day: 'numeric', month: 'short' }) + ' ' + label;
  return { label: label, long: long, runs: 0, failed: 0, rate: null };
}

// Periods for the chart: {periods: [{label, long, runs, failed, rate}], unit}, or null.
function periodsFromRuns(runs) {
  const first = runs[0].t;
  const last = runs[runs.length - 1].t;
  const size = bucketFor(first, last);
  if (!size) return null;
  const start = Math.floor(first / size.ms);
  const periods = [];
  for (let k = start; k <= Math.floor(last / size.ms); k++) periods.push(emptyPeriod(k * size.ms, size.ms));
  runs.forEach(function (r) {
    const p = periods[Math.floor(r.t / size.ms) - start];
    p.runs += 1;
    if (!r.ok) p.failed += 1;
  });
  periods.forEach(function (p) {
    if (p.runs) p.rate = (p.runs - p.failed) / p.runs;
  });
  return { periods: periods, unit: size.label };
}

// Periods from the server's trend by day, with its own success rates.
function periodsFromTrend(trend) {
  const periods = arr(trend).filter(isObject).map(function (d) {
    const day = str(d.day);
    const t = Date.parse(day + 'T00:00:00Z');
    const date = isNaN(t) ? null : new Date(t);
    const runs = num(d.runs) || 0;
    return {
      label: date ? date.toLocaleDateString([], { day: 'numeric', month: 'short', timeZone: 'UTC' }) : day,
      long: date ? date.toLocaleDateString([], { dateStyle: 'medium', timeZone: 'UTC' }) : day,
      runs: runs,
      failed: Math.min(runs, num(d.failures) || 0),
      rate: runs ? num(d.success_rate) : null
    };
  });
  return { periods: periods, unit: 'day (UTC)' };
}

function fillTrendTable(data) {
  const body = els.trendTable.tBodies[0];
  body.textContent = '';
  (data ? data.periods : []).filter(function (p) { return p.runs > 0; }).forEach(function (p) {
    const tr = make('tr');
    tr.appendChild(make('td', null, p.long));
    tr.appendChild(make('td', 'num', p.runs));
    tr.appendChild(make('td', 'num', p.failed));
    tr.appendChild(make('td', 'num', p.rate == null ? '–' : Math.round(p.rate * 100) + '%'));
    body.appendChild(tr);
  });
}

// What to draw for the chosen scale: recent periods when there are runs, else by day.
function chartData(runs) {
  let data = null;
  if (state.scale === 'recent' && runs && runs.length) data = periodsFromRuns(runs);
  if (!data && state.analysis) data = periodsFromTrend(state.analysis.trend);
  if (!data && runs) data = runs.length ? periodsFromRuns(runs) : { periods: [], unit: 'day' };
  return data;
}

export function renderTrend() {
  const runs = recentRuns(state.recent);
  const hasRecent = !!(runs && runs.length);
  const data = chartData(runs);
  els.scaleRecent.disabled = !hasRecent;
  els.scaleRecent.setAttribute('aria-pressed', String(state.scale === 'recent' && hasRecent));
  els.scaleDay.setAttribute('aria-pressed', String(!(state.scale === 'recent' && hasRecent)));
  els.trendChart.dataset.unit = data ? data.unit : '';
  els.trendChart.dataset.complete = hasRecent && state.recent.complete ? 'true' : 'false';
  const summary = state.analysis && isObject(state.analysis.summary) ? state.analysis.summary : null;
  drawChart(data, summary);
  fillTrendTable(data);
}

// New data: the analysis answer (or null) and the recent pages (or null).
export function setTrendData(analysis, recent) {
  state.analysis = analysis;
  state.recent = recent;
  renderTrend();
}

// Whether there is anything to draw again (the chart follows its box's width).
export function hasTrendData() {
  return !!(state.analysis || state.recent);
}

export function startTrend() {
  els.scaleRecent.addEventListener('click', function () {
    state.scale = 'recent';
    renderTrend();
  });
  els.scaleDay.addEventListener('click', function () {
    state.scale = 'day';
    renderTrend();
  });
}
