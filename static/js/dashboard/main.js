/*
 * The dashboard (static/dashboard.html): what the execution log says, read
 * from GET /api/logs/* (shared/API.md; fcgi/logs_api.c and shared/reports/
 * for the fields). Every figure the server has (totals, success rate,
 * outcomes, fix rates, the trend by day) is shown as the server gives it.
 *
 * Same rules as the playground: no innerHTML, every text through
 * textContent, no inline style (the CSP has style-src 'self'); the chart is
 * built with createElementNS. Every field is read defensively: a missing one
 * leaves a dash, never an exception. This module loads the data and wires:
 *   totals.js             the KPI cards and the outcomes by status
 *   trend.js, chart.js    the success rate over time, drawn in SVG
 *   patterns.js, recommendations.js, unfixed.js   the lists
 *   models.js             per AI model, with and without the log's lessons
 *   log-dialog.js         one log entry in a dialog
 *   context.js            the AI context and its copy button
 *   access.js             a log that is the operator's (403) or cannot be
 *                         read (503): said plainly, with the token field
 */

import { isObject, num, setText, str } from '../dom.js';
import { formatWhen } from '../format.js';
import { getJson, getText } from '../http.js';
import { blockOf, hasToken, hideBlocked, showBlocked, startAccess } from './access.js';
import { CONTEXT_URL, showContext, startContext } from './context.js';
import { els, findDashboardElements } from './els.js';
import { startLogDialog } from './log-dialog.js';
import { apiProblem, clearMessages, emptyState, showMessage } from './messages.js';
import { MODELS_URL, showModels } from './models.js';
import { renderPatterns } from './patterns.js';
import { renderRecommendations } from './recommendations.js';
import { renderKpis, renderOutcomes } from './totals.js';
import { hasTrendData, renderTrend, setTrendData, startTrend } from './trend.js';
import { showUnfixed, startUnfixed, UNFIXED_URL } from './unfixed.js';

const API = 'api/logs/';
const RECENT_ROWS = 500; // the most a page of the log holds

// The rest of what the dashboard shows, fetched at once, after the analysis.
async function fetchRest(analysis) {
  const got = await Promise.all([
    getJson(API + 'successes?limit=' + RECENT_ROWS),
    getJson(API + 'failures?limit=' + RECENT_ROWS),
    getJson(UNFIXED_URL),
    getText(CONTEXT_URL),
    getJson(MODELS_URL)
  ]);
  return { analysis: analysis, successes: got[0], failures: got[1], unfixed: got[2], context: got[3], models: got[4] };
}

// The summary's figures and the analysis's lists; returns the analysis, or null.
function showAnalysis(got) {
  if (got.ok && isObject(got.body)) {
    renderKpis(got.body.summary);
    renderOutcomes(got.body.summary);
    renderPatterns(got.body.error_patterns || got.body.patterns);
    renderRecommendations(got.body.recommendations);
    return got.body;
  }
  showMessage(apiProblem(got, 'The analysis'));
  renderKpis(null);
  renderOutcomes(null);
  renderPatterns([]);
  renderRecommendations([]);
  emptyState(els.patternsEmpty, 'Not available.');
  emptyState(els.recsEmpty, 'Not available.');
  return null;
}

// The recent pages for the chart: {successes, failures, complete}, or null.
function recentPages(all) {
  const s = all.successes;
  const f = all.failures;
  if (s.ok && f.ok) {
    return { successes: s.body, failures: f.body, complete: !num(s.body.next_before) && !num(f.body.next_before) };
  }
  if (!all.analysis.ok) showMessage(apiProblem(s.ok ? f : s, 'The recent runs'));
  return null;
}

function loaded(text) {
  document.body.removeAttribute('aria-busy');
  els.refresh.disabled = false;
  setText(els.updated, text);
}

function now() {
  return new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

// Loads everything, unless the first answer says the log is not to be
// read here (or cannot be): then that is all the dashboard shows.
async function loadAll() {
  clearMessages();
  els.refresh.disabled = true;
  document.body.setAttribute('aria-busy', 'true');
  setText(els.updated, 'Loading…');
  const sentToken = hasToken();
  const first = await getJson(API + 'analysis?limit=10');
  const block = blockOf(first);
  if (block) {
    showBlocked(block, sentToken);
    return loaded('Not loaded at ' + now() + ': ' + (block.kind === 'forbidden' ? 'the log is the operator’s.' : 'the log cannot be read.'));
  }
  hideBlocked();
  const all = await fetchRest(first);
  const analysis = showAnalysis(all.analysis);
  const summary = analysis && isObject(analysis.summary) ? analysis.summary : null;
  setTrendData(analysis, recentPages(all));
  showUnfixed(all.unfixed, summary);
  showContext(all.context);
  showModels(all.models);
  loaded('Updated at ' + now() + (summary && str(summary.first_at) ? ' · log since ' + formatWhen(summary.first_at) : ''));
}

// The chart follows its box (a phone turned, a window resized).
function followChartWidth() {
  if (typeof ResizeObserver !== 'function') return;
  let lastWidth = 0;
  let pending = null;
  new ResizeObserver(function () {
    const w = els.trendChart.clientWidth;
    if (Math.abs(w - lastWidth) < 8 || !hasTrendData()) return;
    lastWidth = w;
    clearTimeout(pending);
    pending = setTimeout(renderTrend, 120);
  }).observe(els.trendChart);
}

function init() {
  findDashboardElements();
  els.refresh.addEventListener('click', loadAll);
  startTrend();
  startUnfixed();
  startContext();
  startLogDialog();
  startAccess(loadAll);
  followChartWidth();
  loadAll();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
