/*
 * The assistant (issue #14): describe, generate, run, fix.
 *
 * Generate asks POST /api/assist for a script (assist-request.js) from the
 * description (and the editor's script, when "Change the script in the
 * editor" is ticked), puts it in the editor (undoably; "Bring back your
 * script" too) and runs it at once with user_prompt and ai_model. When a
 * run fails, Fix with AI sends the failed attempt's log_id and the session,
 * and runs the fix with previous_attempt_id = that log_id; with "Fix
 * failures automatically" it goes on up to N fixes, ending at the first
 * success. Each fix shows what it changed (diff-view.js).
 *
 * The person stays in charge: Stop ends it (and the run in progress),
 * editing the script by hand or running it oneself ends it (a late answer
 * of the model is dropped), and nothing typed is lost when the model fails.
 */

import { show } from '../dom.js';
import { byteLength, formatBytes, formatLimitBytes, plural } from '../format.js';
import { currentSession } from '../session.js';
import { STATUS_WORD } from '../statuses.js';
import { askModel } from './assist-request.js';
import { assistBusy, clearAssistError, fixesAllowed, say, showAssistError, showFixBar, showNotes, startAssistSettings } from './assist-ui.js';
import { loadCode } from './code.js';
import { editor } from './editor.js';
import { showDiff } from './diff-view.js';
import { els } from './els.js';
import { limits } from './limits.js';
import { isRunning } from './progress.js';
import { onRunEnded, runScript } from './run.js';
import { requestStop } from './stop.js';

const LOG_ID_RE = /^\d+$/;
const SHORT_WAIT_S = 10; // the longest Retry-After waited out

// token: bumped by every start and every cancel; a flow whose token is no
// longer the current one stops at its next step. expected: the script as
// the assistant last left the editor (an edit is any other text).
const state = { busy: false, token: 0, controller: null, expected: null, applying: false, before: null, lastFailed: null };

// The failed attempt of a run's outcome: {logId, code, attempt}, or null
// when it is no failure to fix (a success, a cancelled or refused run, an attempt not logged).
function failureOf(outcome) {
  const body = outcome && outcome.body;
  if (!body || body.status === 'success' || body.status === 'cancelled') return null;
  if (body.log_id == null || !LOG_ID_RE.test(String(body.log_id))) return null;
  return { logId: String(body.log_id), code: outcome.code, attempt: body.attempt, sessionId: body.session_id || null };
}

function attemptName(attempt, fallback) {
  return Number.isInteger(attempt) ? 'attempt ' + attempt : fallback;
}

function begin() {
  state.token += 1;
  state.controller = new AbortController();
  state.busy = true;
  state.expected = editor.get();
  clearAssistError();
  assistBusy(true);
  return state.token;
}

function finish(text, kind) {
  state.busy = false;
  state.controller = null;
  assistBusy(false);
  say(text, kind);
}

function live(token) {
  return state.busy && token === state.token;
}

// Ends the assistant's work: reason 'edit' (the script was edited by
// hand), 'run' (the person ran it), 'stop' (Stop: the run in progress too).
export function cancelAssist(reason) {
  if (!state.busy) return;
  state.token += 1;
  if (state.controller) state.controller.abort();
  if (reason === 'stop' && isRunning()) requestStop();
  const words = {
    edit: 'Stopped: you edited the script, so the assistant left it to you.',
    run: 'Stopped: you ran the script yourself.',
    stop: 'Stopped.'
  };
  finish(words[reason] || 'Stopped.', 'stopped');
}

// Called on every change in the editor: a change that is not the
// assistant's own ends its work.
export function noteEditorChange() {
  if (!state.busy || state.applying || editor.get() === state.expected) return;
  cancelAssist('edit');
}

function sleep(ms) {
  return new Promise(function (resolve) { setTimeout(resolve, ms); });
}

// Asks the model (req: askModel's) saying what; resolves the answer, or
// null when it failed (said) or the work was ended meanwhile. A refusal
// for too many requests with a short Retry-After is waited out once (a
// client's share counts fixes and their runs alike).
async function ask(token, req, what) {
  say(what, 'busy');
  let got = await askModel(req, state.controller.signal);
  if (live(token) && !got.ok && got.retryAfter && got.retryAfter <= SHORT_WAIT_S) {
    say('The server asks to wait ' + got.retryAfter + ' s; then: ' + what.charAt(0).toLowerCase() + what.slice(1), 'busy');
    await sleep(got.retryAfter * 1000);
    if (live(token)) got = await askModel(req, state.controller.signal);
  }
  if (!live(token)) return null;
  if (got.ok) return got.answer;
  if (!got.aborted) {
    showAssistError(got);
    finish('', 'idle');
  }
  return null;
}

// Puts the model's script in the editor (undoable) with a note.
function apply(answer, note) {
  state.applying = true;
  try {
    loadCode(answer.code, note);
  } finally {
    state.applying = false;
  }
  state.expected = editor.get();
  showNotes(answer.notes, answer.model);
}

function modelWords(answer) {
  return (answer.model || 'The model') + (answer.lessons ? ' (with the log’s lessons)' : '');
}

// Why a loop ended on a run that neither succeeded nor failed.
function otherEnd(outcome) {
  const body = outcome && outcome.body;
  if (body && body.status === 'cancelled') return 'Stopped: the run was cancelled.';
  if (body && body.status && body.status !== 'success') {
    return 'Stopped: the run ended “' + (STATUS_WORD[body.status] || body.status) + '” and was not logged, so it cannot be fixed by log.';
  }
  return 'Stopped: the script was not run (see the result).';
}

// One fix of failed: ask, apply, run with previous_attempt_id; the diff.
// The editor's script goes along only when it is no longer the failed one
// (the server has that one). Resolves the run's outcome, or null when it
// ended otherwise (said).
async function fixOnce(token, failed, prompt, label) {
  const now = editor.get();
  const answer = await ask(token, { prompt: prompt, code: now !== failed.code ? now : null, logId: failed.logId,
    sessionId: failed.sessionId || currentSession() },
    label + ': asking the model to fix ' + attemptName(failed.attempt, 'the failed attempt') + '…');
  if (!answer) return null;
  apply(answer, 'The model’s fix replaced the script. Ctrl+Z brings the failed one back.');
  say(label + ': running the fix by ' + modelWords(answer) + '…', 'busy');
  const outcome = await runScript({ previous: failed.logId, prompt: prompt, model: answer.model,
    lessons: answer.lessons, token: answer.token });
  if (!live(token)) return null;
  const to = outcome && outcome.body ? attemptName(outcome.body.attempt, 'the fix') : 'the fix';
  showDiff(failed.code, outcome ? outcome.code : answer.code, attemptName(failed.attempt, 'the failed attempt') + ' (failed)', to);
  return outcome;
}

// Fixes failed up to max times, ending at the first success.
async function fixLoop(token, failed, prompt, max) {
  for (let i = 1; i <= max; i++) {
    const label = max > 1 ? 'Fix ' + i + ' of ' + max : 'Fix';
    const outcome = await fixOnce(token, failed, prompt, label);
    if (!live(token)) return;
    if (!outcome) return finish(otherEnd(null), 'stopped');
    if (outcome.body && outcome.body.status === 'success') {
      return finish('Fixed' + (max > 1 ? ' by fix ' + i + ' of ' + max : '') + ': the script ran.', 'ok');
    }
    const next = failureOf(outcome);
    if (!next) return finish(otherEnd(outcome), 'stopped');
    failed = next;
  }
  finish('Still failing after ' + plural(max, 'fix', 'fixes') + '. Fix it again with AI, or change it by hand.', 'fail');
}

// What stops a request before it is sent: a sentence, or '' when none.
function preflight(prompt, code, needPrompt) {
  if (isRunning()) return 'A run is in progress: wait for it to end, or stop it.';
  if (needPrompt && !prompt.trim()) return 'Describe what the script should do first.';
  if (limits.promptBytes != null && byteLength(prompt) > limits.promptBytes) {
    return 'The description is too long (' + formatBytes(byteLength(prompt)) + '); the limit is ' + formatLimitBytes(limits.promptBytes) + '.';
  }
  if (code != null && limits.codeBytes != null && byteLength(code) > limits.codeBytes) {
    return 'The script in the editor is too long to send (' + formatBytes(byteLength(code)) + '); the limit is ' +
      formatLimitBytes(limits.codeBytes) + '. Untick “Change the script in the editor” to have a new one written.';
  }
  return '';
}

function refuseEarly(text) {
  clearAssistError();
  showAssistError({ title: text, message: '', hint: '' });
  say('', 'idle');
}

async function generate() {
  if (state.busy) return;
  const prompt = els.assistPrompt.value;
  const code = els.assistUseCode.checked ? editor.get() : null;
  const problem = preflight(prompt, code, true);
  if (problem) {
    refuseEarly(problem);
    if (!prompt.trim()) els.assistPrompt.focus();
    return;
  }
  const token = begin();
  const before = editor.get();
  const answer = await ask(token, { prompt: prompt, code: code, sessionId: currentSession() }, 'Asking the model for a script…');
  if (!answer) return;
  apply(answer, 'The model’s script replaced yours. Ctrl+Z, or “Bring back your script”, undoes it.');
  state.before = before;
  show(els.assistUndo, true);
  say('Running the script by ' + modelWords(answer) + '…', 'busy');
  const outcome = await runScript({ prompt: prompt, model: answer.model, lessons: answer.lessons, token: answer.token });
  if (!live(token)) return;
  const failed = failureOf(outcome);
  if (outcome && outcome.body && outcome.body.status === 'success') return finish('The script by ' + modelWords(answer) + ' ran.', 'ok');
  if (!failed) return finish(otherEnd(outcome), 'stopped');
  if (!els.autoFix.checked) return finish('The script failed: see the result, then Fix with AI or change it.', 'fail');
  await fixLoop(token, failed, prompt, fixesAllowed());
}

async function fix() {
  const failed = state.lastFailed;
  if (state.busy || !failed) return;
  const problem = preflight(els.assistPrompt.value, editor.get(), false);
  if (problem) return refuseEarly(problem);
  const token = begin();
  await fixLoop(token, failed, els.assistPrompt.value, fixesAllowed());
}

function never(promise) {
  promise.catch(function () {
    state.token += 1;
    finish('Something went wrong on this page. Your description and script are kept.', 'fail');
  });
}

function bringBack() {
  if (state.before == null) return;
  loadCode(state.before, 'Brought back your script. Ctrl+Z undoes it.');
  state.before = null;
  show(els.assistUndo, false);
  editor.focus();
}

// Every run's end: the failure Fix with AI would fix, and its bar.
function onRun(outcome) {
  state.lastFailed = failureOf(outcome);
  showFixBar(!!state.lastFailed);
}

export function startAssist() {
  startAssistSettings();
  els.generate.addEventListener('click', function () { never(generate()); });
  els.fixAi.addEventListener('click', function () { never(fix()); });
  els.assistStop.addEventListener('click', function () { cancelAssist('stop'); });
  els.assistUndo.addEventListener('click', bringBack);
  els.assistPrompt.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.altKey) {
      e.preventDefault(); // Ctrl+Enter here generates; elsewhere it runs
      never(generate());
    }
  });
  onRunEnded(onRun);
  // A new session has no failure to fix: a fix is the next attempt of its failure, in its session.
  els.newSession.addEventListener('click', function () {
    cancelAssist('stop');
    state.lastFailed = null;
    showFixBar(false);
  });
}
