/*
 * Per AI model (GET /api/logs/models, shared/reports/reports.c's report_models):
 * for each model that wrote scripts, how often its first attempt
 * succeeded, how many attempts its sessions took until a success, how
 * often its failures were fixed later; and the same for runs with the
 * log's lessons in the assistant's prompt and without them, side by side,
 * with a sentence that compares them, so that the operator sees whether
 * the lessons help. Every figure is the server's; the page counts nothing.
 */

import { arr, isObject, make, num, setText, show, str } from '../dom.js';
import { pct, plural } from '../format.js';
import { els } from './els.js';
import { apiProblem, emptyState } from './messages.js';

export const MODELS_URL = 'api/logs/models?limit=20';

// The columns of a model's table: the figures of all its runs, then by lessons.
const PARTS = [
  { key: 'all', head: 'All runs' },
  { key: 'with', head: 'With the lessons' },
  { key: 'without', head: 'Without them' },
  { key: 'unknown', head: 'Not said' }
];

const FEW_SESSIONS = 10; // below this on either side, the comparison is said to be weak

// The figures of part key of model m (the model itself for 'all'), or {}.
function partOf(m, key) {
  if (key === 'all') return m;
  const by = isObject(m.by_lessons) ? m.by_lessons : {};
  return isObject(by[key]) ? by[key] : {};
}

// A number as the server gave it, shortest: 2, 1.5, 1.33.
function figure(v) {
  const n = num(v);
  return n == null ? '–' : String(Math.round(n * 100) / 100);
}

// The rows of the table: [label, main text of p, sub text of p].
const ROWS = [
  ['First attempt succeeded', function (p) { return num(p.sessions) ? pct(p.first_attempt_success_rate) : '–'; },
    function (p) { return (num(p.first_attempt_successes) || 0) + ' of ' + plural(num(p.sessions) || 0, 'session', 'sessions'); }],
  ['Attempts until success (median)', function (p) { return figure(isObject(p.attempts_to_success) ? p.attempts_to_success.median : null); },
    function (p) {
      const a = isObject(p.attempts_to_success) ? p.attempts_to_success : {};
      return (num(a.mean) != null ? 'mean ' + figure(a.mean) + ', ' : '') + plural(num(p.sessions_succeeded) || 0, 'session', 'sessions') + ' succeeded';
    }],
  ['Failures fixed later', function (p) { return num(p.failures) ? pct(p.fix_rate) : '–'; },
    function (p) { return (num(p.failures_fixed) || 0) + ' of ' + plural(num(p.failures) || 0, 'failure', 'failures'); }],
  ['Runs', function (p) { return String(num(p.runs) || 0); },
    function (p) { return plural(num(p.sessions) || 0, 'session', 'sessions') + ' started'; }]
];

// One cell: the figure and, under it, what it is made of.
function cell(p, row, key) {
  const td = make('td', 'num model-figure');
  td.dataset.part = key;
  td.appendChild(make('span', 'model-main', row[1](p)));
  td.appendChild(make('span', 'model-sub', row[2](p)));
  return td;
}

// The table of model m: a row per figure, a column per part shown.
function modelTable(m, parts) {
  const table = make('table', 'table model-table');
  table.appendChild(make('caption', 'visually-hidden', 'Figures of ' + str(m.ai_model) + ', with and without the lessons'));
  const headRow = make('tr');
  headRow.appendChild(make('th', '', 'Figure')).scope = 'col';
  parts.forEach(function (part) { headRow.appendChild(make('th', 'num', part.head)).scope = 'col'; });
  table.appendChild(make('thead')).appendChild(headRow);
  const body = make('tbody');
  ROWS.forEach(function (row, i) {
    const tr = make('tr');
    tr.dataset.figure = ['first', 'attempts', 'fix', 'runs'][i];
    tr.appendChild(make('th', 'model-row-head', row[0])).scope = 'row';
    parts.forEach(function (part) { tr.appendChild(cell(partOf(m, part.key), row, part.key)); });
    body.appendChild(tr);
  });
  table.appendChild(body);
  return table;
}

// Whether the lessons help, in words, from the with and without parts of m.
export function lessonsVerdict(m) {
  const w = partOf(m, 'with');
  const wo = partOf(m, 'without');
  const nw = num(w.sessions) || 0;
  const nwo = num(wo.sessions) || 0;
  if (!nw && !nwo) return 'No session of this model says whether the lessons were in its prompt.';
  if (!nw || !nwo) return 'Nothing to compare yet: no session ' + (nw ? 'without' : 'with') + ' the lessons.';
  const diff = Math.round((num(w.first_attempt_success_rate) - num(wo.first_attempt_success_rate)) * 100);
  let text = 'First attempts succeeded ' + pct(w.first_attempt_success_rate) + ' of the time with the lessons and ' +
    pct(wo.first_attempt_success_rate) + ' without (' + (diff > 0 ? '+' : diff < 0 ? '−' : '±') + Math.abs(diff) +
    ' points).';
  const aw = isObject(w.attempts_to_success) ? num(w.attempts_to_success.median) : null;
  const awo = isObject(wo.attempts_to_success) ? num(wo.attempts_to_success.median) : null;
  if (aw != null && awo != null) text += ' Attempts until success (median): ' + figure(aw) + ' with, ' + figure(awo) + ' without.';
  if (Math.min(nw, nwo) < FEW_SESSIONS) text += ' Over ' + nw + ' and ' + nwo + ' sessions: too few to be sure.';
  return text;
}

// One model: its name, its table, the comparison.
function modelCard(m) {
  const card = make('article', 'model-card');
  card.dataset.model = str(m.ai_model);
  card.appendChild(make('h3', 'model-name mono', str(m.ai_model) || '(no name)'));
  const parts = PARTS.filter(function (p) { return p.key !== 'unknown' || num(partOf(m, 'unknown').runs) > 0; });
  const wrap = make('div', 'table-wrap');
  wrap.appendChild(modelTable(m, parts));
  card.appendChild(wrap);
  card.appendChild(make('p', 'model-verdict', lessonsVerdict(m)));
  return card;
}

// Shows the answer of GET /api/logs/models (got: getJson's).
export function showModels(got) {
  els.models.textContent = '';
  show(els.modelsEmpty, false);
  setText(els.modelsNote, '');
  if (!got.ok || !isObject(got.body)) {
    emptyState(els.modelsEmpty, apiProblem(got, 'The figures per model'));
    return;
  }
  const list = arr(got.body.models).filter(isObject);
  if (!list.length) {
    emptyState(els.modelsEmpty, 'No run had a model yet. Scripts written by the assistant (Generate, Fix with AI) ' +
      'are run with their model’s name, and their figures show here.');
    return;
  }
  list.forEach(function (m) { els.models.appendChild(modelCard(m)); });
  const limit = num(got.body.limit);
  if (got.body.cut === true || (limit && list.length >= limit)) {
    setText(els.modelsNote, 'The ' + plural(list.length, 'most used model', 'most used models') + '.');
  } else setText(els.modelsNote, plural(list.length, 'model', 'models'));
}
