/*
 * Running the script: checks before sending (within the service's limits),
 * POST /run, the button and the clock while it runs, then the answer shown
 * and the session's history brought up to date.
 */

import { isObject, setText, show } from '../dom.js';
import { byteLength, formatBytes, formatLimitBytes } from '../format.js';
import { readJson } from '../http.js';
import { rememberAttempt, rememberSession } from '../session.js';
import { saveCodeNow } from './code.js';
import { clearErrorMarks, editor } from './editor.js';
import { els } from './els.js';
import { recordAttempt, refreshHistory } from './history.js';
import { currentSource } from './image.js';
import { limits } from './limits.js';
import { validateParams } from './params.js';
import { buildForm, describeRefusal, RUN_URL } from './request.js';
import { clearResult, setHint, setStatus, showRefusal, showResult } from './result.js';

// The clock's scale until the service's own time limit is known.
const TIME_LIMIT_FALLBACK_MS = 10000;

let running = false;
let startedAt = 0;
let ticker = null;

function timeLimitMs() {
  return limits.timeoutMs || TIME_LIMIT_FALLBACK_MS;
}

function tick() {
  const ms = performance.now() - startedAt;
  setText(els.elapsed, (ms / 1000).toFixed(1) + ' s');
  if (running) {
    els.timeProgress.max = timeLimitMs();
    els.timeProgress.value = Math.min(ms, timeLimitMs());
  }
}

function startRunning() {
  running = true;
  startedAt = performance.now();
  els.run.setAttribute('aria-disabled', 'true');
  els.run.classList.add('running');
  setText(els.runLabel, 'Running…');
  els.form.setAttribute('aria-busy', 'true');
  els.progress.classList.add('running');
  setText(els.progressLabel, 'Running…');
  setText(els.timeLimit, 'of ' + Math.round(timeLimitMs() / 1000) + ' s');
  show(els.timeLimit, true);
  show(els.progress, true);
  show(els.timeProgress, true);
  tick();
  ticker = setInterval(tick, 100);
  clearResult();
  clearErrorMarks();
  setStatus('Running the script…', 'busy');
}

function stopRunning() {
  clearInterval(ticker);
  ticker = null;
  tick();
  running = false;
  setText(els.progressLabel, 'Last run took');
  show(els.timeLimit, false);
  show(els.timeProgress, false);
  els.progress.classList.remove('running');
  els.form.removeAttribute('aria-busy');
  els.run.removeAttribute('aria-disabled');
  els.run.classList.remove('running');
  setText(els.runLabel, 'Run');
}

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

// Sends the form; resolves {response, body}, or null when the server could not be reached.
async function send(form) {
  let response;
  try {
    response = await fetch(RUN_URL, {
      method: 'POST',
      body: form,
      credentials: 'same-origin',
      headers: { Accept: 'application/json' }
    });
  } catch (e) {
    return null;
  }
  return { response: response, body: await readJson(response) };
}

// Shows what came back for the code sent.
function showAnswer(response, body, code) {
  if (!response.ok) {
    const refusal = describeRefusal(response, body);
    if (refusal.code === 'bad_params') els.params.classList.add('invalid');
    if (isObject(body)) rememberSession(body);
    showRefusal(refusal);
  } else if (!body || typeof body !== 'object' || typeof body.status !== 'string') {
    showRefusal({ message: 'The server sent an answer this page cannot read.', hint: 'Try again in a moment.' });
  } else {
    rememberAttempt(body);
    recordAttempt(body, code);
    showResult(body);
  }
}

async function run() {
  if (running) return;
  const code = editor.get();
  const params = validateParams();
  const problem = preflight(code, params);
  if (problem) {
    setStatus(problem.message, 'refused');
    setHint('');
    problem.focus.focus();
    return;
  }
  saveCodeNow();
  const form = buildForm(code, params.value, currentSource());
  startRunning();
  const got = await send(form);
  stopRunning();
  if (!got) {
    showRefusal({
      message: 'Could not reach the server.',
      hint: 'Check your connection and that the service is running, then try again.'
    });
    return;
  }
  showAnswer(got.response, got.body, code);
  revealResult();
  refreshHistory();
}

// Runs the script unless it is running already; never throws.
export function requestRun() {
  run().catch(function () {
    if (running) stopRunning();
    showRefusal({ message: 'Something went wrong on this page while running the script.', hint: 'Reload the page and try again.' });
  });
}
