/*
 * The totals (the KPI cards) and the outcomes by status, straight from the
 * server's summary (GET /api/logs/analysis's "summary", the same figures as
 * /api/logs/summary): the page counts nothing itself.
 */

import { isObject, make, num, setText } from '../dom.js';
import { pct, plural, seconds } from '../format.js';
import { STATUS_ORDER, STATUS_WORD } from '../statuses.js';
import { els } from './els.js';
import { svg } from './svg.js';

function renderRuns(s) {
  const total = num(s.total);
  setText(els.kpiRuns, total == null ? '–' : total.toLocaleString());
  if (num(s.successes) != null) {
    els.kpiRuns.appendChild(make('span', 'kpi-sub', num(s.successes) + ' succeeded, ' + (num(s.failures) || 0) + ' failed'));
  }
}

function renderRate(s) {
  const total = num(s.total);
  setText(els.kpiRate, total ? pct(s.success_rate) : '–');
  const rateCard = els.kpiRate.parentNode;
  rateCard.classList.toggle('kpi-good', !!total && num(s.success_rate) >= 0.7);
  rateCard.classList.toggle('kpi-bad', !!total && num(s.success_rate) < 0.4);
}

function renderFixed(s) {
  const fixed = num(s.failures_fixed);
  const failures = num(s.failures);
  setText(els.kpiFixed, failures ? pct(s.fix_rate) : '–');
  if (failures) els.kpiFixed.appendChild(make('span', 'kpi-sub', (fixed || 0) + ' of ' + plural(failures, 'failure', 'failures')));
}

function renderSessions(s) {
  const sessions = isObject(s.sessions) ? s.sessions : {};
  const withFailures = num(sessions.with_failures);
  setText(els.kpiSessions, withFailures ? pct(sessions.fix_rate) : '–');
  if (num(sessions.total) != null) {
    els.kpiSessions.appendChild(make('span', 'kpi-sub', (num(sessions.fixed) || 0) + ' of ' +
      (withFailures || 0) + ' · ' + plural(num(sessions.total), 'session', 'sessions') + ' in all'));
  }
}

function renderDuration(s) {
  const d = isObject(s.duration_ms) ? s.duration_ms : {};
  setText(els.kpiDuration, num(d.runs) ? seconds(d.p50) : '–');
  if (num(d.runs)) els.kpiDuration.appendChild(make('span', 'kpi-sub', '95% under ' + seconds(d.p95)));
}

// The KPI cards from a summary (null: dashes).
export function renderKpis(summary) {
  const s = isObject(summary) ? summary : {};
  renderRuns(s);
  renderRate(s);
  renderFixed(s);
  renderSessions(s);
  renderDuration(s);
}

// One status's row: its name, a bar of its share, its count and share.
function outcomeItem(status, n, total) {
  const li = make('li', 'outcome');
  li.appendChild(make('span', 'outcome-name', STATUS_WORD[status] || status));
  const bar = svg('svg', { viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true' }, li);
  svg('rect', { x: 0, y: 0, width: 100, height: 10, rx: 2, class: 'track' }, bar);
  const share = total ? n / total : 0;
  if (n > 0) {
    svg('rect', { x: 0, y: 0, width: Math.max(1, share * 100).toFixed(2), height: 10, rx: 2,
      class: 'fill-' + (STATUS_WORD[status] ? status : 'other') }, bar);
  }
  li.appendChild(make('span', 'outcome-count', n + ' · ' + Math.round(share * 100) + '%'));
  return li;
}

function durationLine(s) {
  const d = isObject(s.duration_ms) ? s.duration_ms : {};
  const parts = [];
  if (num(d.runs)) {
    parts.push('Run times: median ' + seconds(d.p50) + ', 95th percentile ' + seconds(d.p95) + ', longest ' +
      seconds(d.max) + '.');
  }
  if (num(s.distinct_patterns) != null) parts.push(plural(num(s.distinct_patterns), 'distinct error pattern', 'distinct error patterns') + '.');
  return parts.join(' ');
}

// The outcomes by status and the run times, from a summary (null: none).
export function renderOutcomes(summary) {
  const list = els.outcomes;
  list.textContent = '';
  const s = isObject(summary) ? summary : {};
  const by = isObject(s.by_status) ? s.by_status : {};
  const total = num(s.total) || 0;
  const keys = STATUS_ORDER.concat(Object.keys(by).filter(function (k) { return STATUS_ORDER.indexOf(k) === -1; }));
  keys.forEach(function (k) {
    const n = num(by[k]);
    if (n != null) list.appendChild(outcomeItem(k, n, total));
  });
  if (!list.children.length) list.appendChild(make('li', 'empty-state', 'No runs yet.'));
  setText(els.durationLine, durationLine(s));
}
