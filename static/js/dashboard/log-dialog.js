/*
 * One log entry in a dialog (GET /api/logs/log/<id>): what happened, the
 * code with the failing line marked, the traceback, what it printed; its
 * code copied, or handed to the playground ("Open in the playground").
 */

import { isObject, make, num, setText, show, str } from '../dom.js';
import { formatWhen, seconds } from '../format.js';
import { getJson } from '../http.js';
import { KEYS, save } from '../storage.js';
import { errorMessageOf, STATUS_LONG, STATUS_WORD } from '../statuses.js';
import { copyText } from './clipboard.js';
import { els } from './els.js';
import { apiProblem } from './messages.js';

const LOG_URL = 'api/logs/log/';

let dialogLog = null; // the entry shown
let lastOpener = null; // the button to give the focus back to

// A failure in a line: the refusal, the exception, or what its status means.
export function failureTitle(item) {
  const err = isObject(item.error) ? item.error : null;
  const status = str(item.status);
  if (status === 'rejected' && isObject(item.reject)) {
    return 'Refused: ' + (str(item.reject.message) || str(item.reject.code));
  }
  if (err && (err.type || err.message)) {
    const line = num(err.line) ? ' (line ' + err.line + ')' : '';
    return (str(err.type) || 'Error') + (err.message ? ': ' + err.message : '') + line;
  }
  return STATUS_LONG[status] || STATUS_WORD[status] || status || 'Failed';
}

// A button that opens log entry logId in the dialog.
export function viewButton(logId, label) {
  const b = make('button', 'tool-button small', label || 'View');
  b.type = 'button';
  b.dataset.logId = String(logId);
  b.addEventListener('click', function () {
    openLog(logId, b);
  });
  return b;
}

function clearDialog(id) {
  dialogLog = null;
  setText(els.logTitle, 'Log entry #' + id);
  setText(els.logMeta, 'Loading…');
  els.logCode.textContent = '';
  show(els.logError, false);
  show(els.logTracebackBox, false);
  show(els.logStreams, false);
  els.logOpen.disabled = true;
  els.logCopy.disabled = true;
  setText(els.logCopyStatus, '');
}

async function openLog(id, opener) {
  lastOpener = opener || null;
  clearDialog(id);
  if (typeof els.dialog.showModal === 'function') {
    if (!els.dialog.open) els.dialog.showModal();
  } else {
    els.dialog.setAttribute('open', '');
  }
  const got = await getJson(LOG_URL + encodeURIComponent(id));
  if (!got.ok || !isObject(got.body)) {
    setText(els.logMeta, apiProblem(got, 'This log entry'));
    return;
  }
  fillLog(got.body);
}

function logMeta(log) {
  const parts = [STATUS_WORD[str(log.status)] || str(log.status)];
  if (formatWhen(log.created_at)) parts.push(formatWhen(log.created_at));
  if (num(log.attempt)) parts.push('attempt ' + num(log.attempt) + (str(log.session_id) ? ' of session ' + str(log.session_id).slice(0, 8) + '…' : ''));
  if (num(log.duration_ms) != null) parts.push('ran ' + seconds(log.duration_ms));
  if (num(log.fixed_by)) parts.push('fixed by log #' + num(log.fixed_by));
  if (isObject(log.image) && num(log.image.width)) parts.push('image ' + num(log.image.width) + ' × ' + num(log.image.height) + ' px');
  if (str(log.ai_model)) parts.push('written by ' + str(log.ai_model));
  return parts.join(' · ');
}

// The code, a line per span, the failing one marked and scrolled to.
function showCode(code, errLine) {
  let errEl = null;
  code.replace(/\n$/, '').split('\n').forEach(function (line, i) {
    const span = make('span', 'code-line' + (errLine === i + 1 ? ' is-error' : ''), line + '\n');
    if (errLine === i + 1) errEl = span;
    els.logCode.appendChild(span);
  });
  if (!code) setText(els.logCode, '(no code was kept for this entry)');
  if (errEl) {
    const top = errEl.offsetTop - els.logCode.clientHeight / 3;
    els.logCode.scrollTop = Math.max(0, top);
  }
}

function fillLog(log) {
  dialogLog = log;
  setText(els.logMeta, logMeta(log));
  const err = isObject(log.error) ? log.error : null;
  const title = log.status === 'success' ? '' : failureTitle(log);
  setText(els.logError, title);
  show(els.logError, !!title);
  const code = typeof log.code === 'string' ? log.code : '';
  showCode(code, err && num(err.line) ? num(err.line) : null);
  const tb = err && typeof err.traceback === 'string' ? err.traceback : '';
  setText(els.logTraceback, tb);
  show(els.logTracebackBox, !!tb);
  const out = str(log.stdout);
  const errOut = str(log.stderr);
  setText(els.logStdout, out);
  setText(els.logStderr, errOut);
  show(els.logStreams, !!(out || errOut));
  els.logOpen.disabled = !code;
  els.logCopy.disabled = !code;
}

function closeLog() {
  if (typeof els.dialog.close === 'function') els.dialog.close();
  else els.dialog.removeAttribute('open');
}

// Hands the entry's code (and its failing line) to the playground, and goes there.
function openInPlayground() {
  const log = dialogLog;
  if (!log || typeof log.code !== 'string') return;
  const err = isObject(log.error) ? log.error : null;
  const data = {
    code: log.code,
    log_id: num(log.log_id),
    line: err && num(err.line) ? num(err.line) : null,
    message: err ? errorMessageOf(err) : ''
  };
  if (!save('sessionStorage', KEYS.open, JSON.stringify(data))) {
    setText(els.logCopyStatus, 'The browser refused to hand the code over; copy it instead.');
    return;
  }
  window.location.href = './';
}

export function startLogDialog() {
  els.logClose.addEventListener('click', closeLog);
  els.dialog.addEventListener('close', function () {
    if (lastOpener && document.contains(lastOpener)) lastOpener.focus();
  });
  // A click on the backdrop closes the dialog.
  els.dialog.addEventListener('click', function (e) {
    if (e.target === els.dialog) closeLog();
  });
  els.logOpen.addEventListener('click', openInPlayground);
  els.logCopy.addEventListener('click', function () {
    if (dialogLog && typeof dialogLog.code === 'string') copyText(dialogLog.code, els.logCopyStatus, els.logCode);
  });
}
