/*
 * The session's attempts (GET /api/logs/session/<id>, session-attempts.js):
 * a failure, its fix, the success. Choosing one brings its code back into
 * the editor; "Changes" next to an attempt shows what changed from the one
 * it followed (the failure it fixed, else the attempt before) in the diff
 * view. The log's lists hold only an excerpt of each code: the code comes
 * from attempt-code.js (kept by this page when it sent it, else the
 * excerpt when whole, else the operator's log/<id>), and when it cannot be
 * had here the page says so. When the server's history cannot be read,
 * the runs of this page are shown instead.
 */

import { isObject, make, setText, wholeNumber } from '../dom.js';
import { formatSeconds, formatTime, plural, sentence } from '../format.js';
import { currentSession, forgetSession } from '../session.js';
import { errorMessageOf, STATUS_TEXT, STATUS_WORD } from '../statuses.js';
import { attemptCode, keepAttemptCode } from './attempt-code.js';
import { editorNote, loadCode } from './code.js';
import { showDiff, showDiffUnavailable } from './diff-view.js';
import { editor, markErrorLine } from './editor.js';
import { els } from './els.js';
import { fetchAttempts } from './session-attempts.js';

const EMPTY_INFO = 'Your attempts appear here: a failure, its fix, the success. ' +
  'Choose one to bring its code back into the editor.';

let localAttempts = []; // this page's runs, for when the server's history cannot be read
let historyToken = 0;
let restoreToken = 0; // the last attempt chosen: an earlier choice that resolves later is dropped

// Keeps a finished run of this page (its answer and the code sent): in
// the history of this page, and its code by log_id (attempt-code.js).
export function recordAttempt(body, code) {
  keepAttemptCode(body.log_id, body.session_id, code);
  localAttempts.push({
    id: wholeNumber(body.log_id), session: typeof body.session_id === 'string' ? body.session_id : '',
    attempt: wholeNumber(body.attempt) || localAttempts.length + 1, status: body.status,
    time: new Date().toISOString(), duration: wholeNumber(body.duration_ms), code: code,
    error: isObject(body.error) ? body.error : null, reject: null, fixedBy: null, previous: null, changes: null
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
function historyInfo(attempts, session, got) {
  const fixes = attempts.filter(function (a) { return a.fixedBy; }).length;
  const last = attempts[attempts.length - 1];
  let info = attempts.length + (attempts.length === 1 ? ' attempt' : ' attempts') +
    (fixes ? ', ' + fixes + (fixes === 1 ? ' failure fixed' : ' failures fixed') : '') +
    '; the last one: ' + (STATUS_WORD[last.status] || last.status).toLowerCase() + '.';
  if (got && got.earlier) info += ' ' + plural(got.earlier, 'earlier attempt is', 'earlier attempts are') + ' not shown.';
  if (got && got.more) info += ' Later attempts could not be read.';
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
    restoreAttempt(a).catch(function () { editorNote('Something went wrong on this page: try again.'); });
  });
  li.appendChild(button);
  if (a.from && !sameCode(a.from, a)) li.appendChild(changesButton(a.from, a));
  return li;
}

// Whether attempts x and y ran the same code, as far as the page can tell.
function sameCode(x, y) {
  if (x.sha && y.sha) return x.sha === y.sha;
  if (typeof x.code === 'string' && typeof y.code === 'string') return x.code === y.code;
  const c = y.changes;
  return !!(c && x.id && c.from_log_id === x.id && c.same_code === true);
}

// How attempt a ended, after its name in the diff's summary: " (error)".
function endedWord(a) {
  return a.status !== 'success' && a.status !== 'cancelled' ? ' (' + (STATUS_WORD[a.status] || a.status).toLowerCase() + ')' : '';
}

// The diff from attempt `from` to attempt a, once both codes are had.
async function showChanges(from, a) {
  const name = 'attempt ' + from.attempt + endedWord(from);
  const got = await Promise.all([attemptCode(from), attemptCode(a)]);
  const missing = got[0].code == null ? got[0] : got[1].code == null ? got[1] : null;
  if (missing) showDiffUnavailable(name, 'attempt ' + a.attempt, missing.reason);
  else showDiff(got[0].code, got[1].code, name, 'attempt ' + a.attempt);
  els.diffBox.scrollIntoView({ block: 'nearest' });
}

// "Changes": the diff from attempt `from` to attempt a, in the diff view.
function changesButton(from, a) {
  const b = make('button', 'tool-button small history-diff', 'Changes');
  b.type = 'button';
  b.setAttribute('aria-label', 'What changed from attempt ' + from.attempt + ' to attempt ' + a.attempt);
  b.addEventListener('click', function () {
    showChanges(from, a).catch(function () {
      showDiffUnavailable('attempt ' + from.attempt, 'attempt ' + a.attempt, 'Something went wrong on this page.');
    });
  });
  return b;
}

// Shows attempts with note (words over them) and got (fetchAttempts's answer, for its counts).
function renderHistory(attempts, note, got) {
  els.historyList.textContent = '';
  if (!attempts.length) {
    setText(els.historyInfo, note || EMPTY_INFO);
    return;
  }
  const info = historyInfo(attempts, currentSession(), got);
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
  renderHistory(got.attempts == null ? localAttempts.slice() : got.attempts, got.note, got);
}

// Brings attempt a's code back into the editor (undoably), or says why it cannot.
async function restoreAttempt(a) {
  const token = ++restoreToken;
  const got = await attemptCode(a);
  if (token !== restoreToken) return;
  if (got.code == null) {
    editorNote(got.reason);
    return;
  }
  loadCode(got.code, 'Brought back the code of attempt ' + a.attempt + '. Ctrl+Z undoes it.');
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
