/*
 * The session's attempts (GET /api/logs/session/<id>): a failure, its fix,
 * the success. Choosing one brings its code back into the editor. When the
 * server's history cannot be read, the runs of this page are shown instead.
 * "Changes" next to an attempt shows what changed from the one it followed
 * (the failure it fixed, else the attempt before) in the diff view.
 */

import { isObject, make, setText, str, wholeNumber } from '../dom.js';
import { formatSeconds, formatTime, sentence } from '../format.js';
import { getJson } from '../http.js';
import { currentSession, forgetSession } from '../session.js';
import { errorMessageOf, STATUS_TEXT, STATUS_WORD } from '../statuses.js';
import { editorNote, loadCode } from './code.js';
import { showDiff } from './diff-view.js';
import { editor, markErrorLine } from './editor.js';
import { els } from './els.js';

const SESSION_URL = '/api/logs/session/';
const LOG_URL = '/api/logs/log/';
const EMPTY_INFO = 'Your attempts appear here: a failure, its fix, the success. ' +
  'Choose one to bring its code back into the editor.';

let localAttempts = []; // this page's runs, for when the server's history cannot be read
let historyToken = 0;

// One attempt as the history keeps it, from the session answer's item a (i: its place).
function attemptOf(a, i) {
  return {
    id: wholeNumber(a.log_id) || wholeNumber(a.id),
    attempt: wholeNumber(a.attempt) || i + 1,
    status: str(a.status) || 'unknown',
    time: str(a.created_at) || str(a.time) || str(a.timestamp),
    duration: wholeNumber(a.duration_ms),
    code: typeof a.code === 'string' ? a.code : null,
    error: isObject(a.error) ? a.error : null,
    reject: isObject(a.reject) ? a.reject : null,
    fixedBy: wholeNumber(a.fixed_by),
    previous: wholeNumber(a.previous_attempt_id),
    changes: isObject(a.changes) ? a.changes : null
  };
}

// The attempts of a session answer, in order, whatever its exact shape; null when none can be read.
function normaliseAttempts(body) {
  const list = Array.isArray(body) ? body : isObject(body) ? body.attempts || body.items || body.runs : null;
  if (!Array.isArray(list)) return null;
  return list.filter(isObject).map(attemptOf);
}

// Keeps a finished run of this page (its answer and the code sent).
export function recordAttempt(body, code) {
  localAttempts.push({
    id: wholeNumber(body.log_id), attempt: wholeNumber(body.attempt) || localAttempts.length + 1,
    status: body.status, time: new Date().toISOString(), duration: wholeNumber(body.duration_ms),
    code: code, error: isObject(body.error) ? body.error : null, reject: null, fixedBy: null, previous: null, changes: null
  });
}

function attemptDetail(a) {
  if (a.status === 'success') return 'Saved a result';
  if (a.status === 'rejected' && a.reject && a.reject.message) return sentence(a.reject.message);
  if (a.error && a.error.type) {
    const line = Number.isInteger(a.error.line) && a.error.line > 0 ? ' on line ' + a.error.line : '';
    if (a.status === 'error') return a.error.type + line + (a.error.message ? ': ' + a.error.message : '');
  }
  return STATUS_TEXT[a.status] || STATUS_WORD[a.status] || a.status;
}

function changeSummary(a, byId) {
  const parts = [];
  const c = a.changes;
  if (c) {
    if (c.same_code === true) parts.push('same code');
    else if (typeof c.lines_added === 'number' || typeof c.lines_removed === 'number') {
      parts.push('+' + (c.lines_added || 0) + ' −' + (c.lines_removed || 0) + ' lines');
    }
    if (Array.isArray(c.imports_added) && c.imports_added.length) {
      parts.push('added ' + c.imports_added.filter(function (x) { return typeof x === 'string'; }).join(', '));
    }
  }
  if (a.fixedBy && byId[a.fixedBy]) parts.push('fixed by attempt ' + byId[a.fixedBy].attempt);
  return parts.join(' · ');
}

// The line over the list: how many attempts, how many fixed, how the last one ended.
function historyInfo(attempts, session) {
  const fixes = attempts.filter(function (a) { return a.fixedBy; }).length;
  const last = attempts[attempts.length - 1];
  let info = attempts.length + (attempts.length === 1 ? ' attempt' : ' attempts') +
    (fixes ? ', ' + fixes + (fixes === 1 ? ' failure fixed' : ' failures fixed') : '') +
    '; the last one: ' + (STATUS_WORD[last.status] || last.status).toLowerCase() + '.';
  if (session) info += ' Session ' + session.slice(0, 8) + '…';
  return info;
}

function badgeKind(status) {
  if (status === 'success') return 'ok';
  return status === 'cancelled' ? 'neutral' : 'fail';
}

function historyHead(a) {
  const head = make('span', 'history-head');
  head.appendChild(make('span', 'history-title', 'Attempt ' + a.attempt));
  head.appendChild(make('span', 'badge badge-' + badgeKind(a.status), STATUS_WORD[a.status] || a.status));
  const time = make('time', 'history-time', formatTime(a.time));
  if (a.time) time.dateTime = a.time;
  head.appendChild(time);
  if (a.duration != null) head.appendChild(make('span', 'history-duration', formatSeconds(a.duration)));
  return head;
}

function historyItem(a, byId) {
  const li = make('li', 'history-item status-' + a.status.replace(/[^a-z_]/g, ''));
  const button = make('button', 'history-button');
  button.type = 'button';
  button.dataset.logId = a.id ? String(a.id) : '';
  button.appendChild(make('span', 'visually-hidden', 'Bring back the code of '));
  button.appendChild(historyHead(a));
  button.appendChild(make('span', 'history-detail', attemptDetail(a)));
  const changes = changeSummary(a, byId);
  if (changes) button.appendChild(make('span', 'history-changes', changes));
  button.addEventListener('click', function () {
    restoreAttempt(a);
  });
  li.appendChild(button);
  const from = a.from;
  if (from && typeof from.code === 'string' && typeof a.code === 'string' && from.code !== a.code) {
    li.appendChild(changesButton(from, a));
  }
  return li;
}

// "Changes": the diff from attempt `from` to attempt a, in the diff view.
function changesButton(from, a) {
  const b = make('button', 'tool-button small history-diff', 'Changes');
  b.type = 'button';
  b.setAttribute('aria-label', 'What changed from attempt ' + from.attempt + ' to attempt ' + a.attempt);
  b.addEventListener('click', function () {
    const failed = from.status !== 'success' && from.status !== 'cancelled' ? ' (' + (STATUS_WORD[from.status] || from.status).toLowerCase() + ')' : '';
    showDiff(from.code, a.code, 'attempt ' + from.attempt + failed, 'attempt ' + a.attempt);
    els.diffBox.scrollIntoView({ block: 'nearest' });
  });
  return b;
}

function renderHistory(attempts, note) {
  els.historyList.textContent = '';
  if (!attempts.length) {
    setText(els.historyInfo, note || EMPTY_INFO);
    return;
  }
  const info = historyInfo(attempts, currentSession());
  setText(els.historyInfo, note ? note + ' ' + info : info);
  const byId = {};
  attempts.forEach(function (a) { if (a.id) byId[a.id] = a; });
  // Each attempt follows the failure it fixed, else the attempt before it.
  attempts.forEach(function (a, i) { a.from = (a.previous && byId[a.previous]) || attempts[i - 1] || null; });
  attempts.forEach(function (a) {
    els.historyList.appendChild(historyItem(a, byId));
  });
  els.historyList.scrollTop = els.historyList.scrollHeight;
}

// The session's attempts from the server: {attempts, note}; attempts null when unread.
async function fetchAttempts(session) {
  const got = await getJson(SESSION_URL + encodeURIComponent(session));
  if (got.network) return { attempts: null, note: 'The server could not be reached; showing the runs of this page.' };
  let attempts = null;
  if (got.ok) attempts = normaliseAttempts(got.body);
  else if (got.status === 404) attempts = [];
  return { attempts: attempts, note: attempts == null ? 'The server’s history could not be read; showing the runs of this page.' : '' };
}

export async function refreshHistory() {
  const token = ++historyToken;
  const session = currentSession();
  if (!session) {
    renderHistory([]);
    return;
  }
  els.historyPanel.setAttribute('aria-busy', 'true');
  const got = await fetchAttempts(session);
  if (token !== historyToken) return;
  els.historyPanel.removeAttribute('aria-busy');
  renderHistory(got.attempts == null ? localAttempts.slice() : got.attempts, got.note);
}

async function restoreAttempt(a) {
  let code = a.code;
  if (code == null && a.id) {
    const got = await getJson(LOG_URL + a.id);
    if (got.ok && isObject(got.body) && typeof got.body.code === 'string') code = got.body.code;
  }
  if (code == null) {
    editorNote('The code of attempt ' + a.attempt + ' could not be loaded.');
    return;
  }
  loadCode(code, 'Brought back the code of attempt ' + a.attempt + '. Ctrl+Z undoes it.');
  if (a.error && Number.isInteger(a.error.line) && a.error.line > 0) {
    markErrorLine(a.error.line, errorMessageOf(a.error));
  }
  editor.focus();
}

function newSession() {
  forgetSession();
  localAttempts = [];
  historyToken++;
  renderHistory([], 'A new session starts with your next run.');
}

export function startHistory() {
  els.historyRefresh.addEventListener('click', refreshHistory);
  els.newSession.addEventListener('click', newSession);
}
