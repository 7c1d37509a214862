/*
 * Running the script: checks before sending (within the service's limits),
 * POST /run with live output (live.js), the phases and the clock while it
 * runs (progress.js), Stop (stop.js), then the answer shown and the
 * session's history brought up to date. The assistant (assist*.js) runs
 * the model's scripts through runScript and hears of every run's end.
 */

import { isObject } from '../dom.js';
import { byteLength, formatBytes, formatLimitBytes } from '../format.js';
import { rememberAttempt, rememberSession } from '../session.js';
import { STATUS_WORD } from '../statuses.js';
import { saveCodeNow } from './code.js';
import { clearErrorMarks, editor } from './editor.js';
import { els } from './els.js';
import { recordAttempt, refreshHistory } from './history.js';
import { currentSource } from './image.js';
import { limits } from './limits.js';
import { sendLive } from './live.js';
import { validateParams } from './params.js';
import { endProgress, isRunning, setPhase, setQueuePlace, startProgress } from './progress.js';
import { buildForm, describeRefusal, describeStreamRefusal, isStreamRefusal } from './request.js';
import { clearResult, setHint, setStatus, showRefusal, showResult, statusKind } from './result.js';
import { beginStoppable, endStoppable, setJob, stopRequested } from './stop.js';
import { appendStream, settleStreams } from './streams.js';

// Problems to fix before sending anything: {message, focus}, or null when ready.
function preflight(code, params) {
  if (!code.trim()) return { message: 'Write some Python code first.', focus: editor };
  const size = byteLength(code);
  if (limits.codeBytes != null && size > limits.codeBytes) {
    return {
      message: 'The code is too long (' + formatBytes(size) + '); the limit is ' + formatLimitBytes(limits.codeBytes) + '.',
      focus: editor
    };
  }
  if (!params.ok) return { message: 'Fix the parameters first: ' + params.message, focus: els.params };
  return null;
}

function revealResult() {
  const rect = els.resultPanel.getBoundingClientRect();
  if (rect.top >= window.innerHeight || rect.bottom <= 0) {
    const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    els.resultPanel.scrollIntoView({ behavior: smooth ? 'smooth' : 'auto', block: 'start' });
  }
}

// What the live stream's events do while the run goes on.
const liveHandlers = {
  job: function (d) {
    rememberSession(d);
    setJob(d.job_id);
  },
  phase: function (d) {
    setPhase(d.phase);
    if (d.phase === 'queued' && typeof d.position === 'number') {
      setQueuePlace(d.position, typeof d.expected_ms === 'number' ? d.expected_ms : 0);
    }
  },
  stdout: function (d) {
    printed('stdout', d.text);
  },
  stderr: function (d) {
    printed('stderr', d.text);
  }
};

// Output means the script runs, whatever phase event is still to come
// (phases only move forward: this changes nothing after Stop).
function printed(stream, text) {
  setPhase('running');
  appendStream(stream, text);
}

// Who hears of each run's end (see onRunEnded).
const runListeners = [];

// A run that ended: the steps' last word, the answer, the history. Returns
// the word for the steps, its kind and the answer.
function showRun(body, code) {
  rememberAttempt(body);
  recordAttempt(body, code);
  showResult(body);
  return { word: STATUS_WORD[body.status] || body.status, kind: statusKind(body.status), body: body };
}

// A refused request (before or after the stream began).
function showRefused(refusal, body) {
  if (refusal.code === 'bad_params') els.params.classList.add('invalid');
  if (isObject(body)) rememberSession(body);
  showRefusal(refusal);
  return { word: 'Refused', kind: 'refused' };
}

function showUnreadable() {
  showRefusal({ message: 'The server sent an answer this page cannot read.', hint: 'Try again in a moment.' });
  return { word: 'No answer', kind: 'refused' };
}

// A run that ended without its answer: stopped here, or the connection lost.
function showNoAnswer() {
  settleStreams();
  if (stopRequested()) {
    setStatus('Cancelled: the run was stopped before the script ended', 'stopped');
    setHint('');
    return { word: STATUS_WORD.cancelled, kind: 'stopped' };
  }
  showRefusal({
    message: 'Could not reach the server, or the connection was lost before the run ended.',
    hint: 'Check your connection and that the service is running, then try again.'
  });
  return { word: 'No answer', kind: 'refused' };
}

// A JSON answer: a refusal, or the whole answer of a server that does not stream.
function showJson(got, code) {
  if (!got.response.ok) return showRefused(describeRefusal(got.response, got.body), got.body);
  if (!isObject(got.body) || typeof got.body.status !== 'string') return showUnreadable();
  return showRun(got.body, code);
}

// Shows what came back (see live.js for got); returns {word, kind}.
function showOutcome(got, code) {
  if (!got) return showNoAnswer();
  if (got.kind === 'json') return showJson(got, code);
  const done = got.done;
  if (!done) return showNoAnswer();
  if (isStreamRefusal(done)) return showRefused(describeStreamRefusal(done), done);
  if (typeof done.status !== 'string') return showUnreadable();
  return showRun(done, code);
}

// Runs the editor's script (extra: buildForm's); resolves {body, code,
// kind}, body the run's answer or null when it was not run or no answer
// came; null when a run is in progress already or the page refused it.
async function run(extra) {
  if (isRunning()) return null;
  const code = editor.get();
  const params = validateParams();
  const problem = preflight(code, params);
  if (problem) {
    setStatus(problem.message, 'refused');
    setHint('');
    problem.focus.focus();
    return null;
  }
  saveCodeNow();
  const form = buildForm(code, params.value, currentSource(), extra);
  const controller = new AbortController();
  clearResult();
  clearErrorMarks();
  startProgress();
  beginStoppable(controller);
  const got = await sendLive(form, liveHandlers, controller.signal);
  const end = showOutcome(got, code);
  endStoppable();
  endProgress(end.word, end.kind);
  revealResult();
  refreshHistory();
  const outcome = { body: end.body || null, code: code, kind: end.kind };
  runListeners.forEach(function (fn) { fn(outcome); });
  return outcome;
}

function pageError() {
  endStoppable();
  endProgress('Page error', 'refused');
  showRefusal({ message: 'Something went wrong on this page while running the script.', hint: 'Reload the page and try again.' });
}

// Runs the script unless it is running already; never throws.
export function requestRun() {
  run(null).catch(pageError);
}

// Runs the script with extra form fields (see buildForm); resolves what
// run() does, or null after a page error. Never throws.
export async function runScript(extra) {
  try {
    return await run(extra);
  } catch (e) {
    pageError();
    return null;
  }
}

// fn({body, code, kind}) is called at the end of every run that was sent.
export function onRunEnded(fn) {
  runListeners.push(fn);
}
