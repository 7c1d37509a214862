/*
 * A run in progress, as the page shows it: the Run button busy, the phase
 * in words with a running clock next to it, the time used of the script's
 * limit, the status line (a polite live region: each new phase is said
 * once, the clock is not), and the steps of the run with the time each took,
 * kept after the run ends.
 *
 * The phases are the server's (queued, starting, running, checking) and the
 * page's own: sending (until the server's first word) and stopping (after
 * Stop). They only move forward: a late "running" after the script's
 * first output, say, changes nothing.
 */

import { make, setText, show } from '../dom.js';
import { els } from './els.js';
import { limits } from './limits.js';
import { setStatus } from './result.js';

// The clock's scale until the service's own time limit is known.
const TIME_LIMIT_FALLBACK_MS = 10000;
const TICK_MS = 100;

// label: next to the Run button; status: the status line; step: the list of steps.
const PHASES = {
  sending: { label: 'Sending…', status: 'Sending the script…', step: 'Sending' },
  queued: { label: 'Waiting for a sandbox…', status: 'Waiting for a free sandbox…', step: 'Waiting for a sandbox' },
  starting: { label: 'Starting…', status: 'Starting the sandbox…', step: 'Starting the sandbox' },
  running: { label: 'Running…', status: 'Running the script…', step: 'Running the script' },
  checking: { label: 'Checking…', status: 'Checking the result…', step: 'Checking the result' },
  stopping: { label: 'Stopping…', status: 'Stopping the run…', step: 'Stopping' }
};
const ORDER = ['sending', 'queued', 'starting', 'running', 'checking', 'stopping'];

const state = { running: false, startedAt: 0, phase: '', phaseAt: 0, runningAt: 0, ticker: null, item: null };

export function isRunning() {
  return state.running;
}

function timeLimitMs() {
  return limits.timeoutMs || TIME_LIMIT_FALLBACK_MS;
}

function secs(ms) {
  return (Math.max(0, ms) / 1000).toFixed(1) + ' s';
}

function tick() {
  const now = performance.now();
  setText(els.elapsed, secs(now - state.startedAt));
  if (state.item) setText(state.item.querySelector('.phase-time'), secs(now - state.phaseAt));
  if (state.running && state.runningAt) {
    els.timeProgress.max = timeLimitMs();
    els.timeProgress.value = Math.min(now - state.runningAt, timeLimitMs());
  }
}

// Closes the current step with its time.
function closeStep(now) {
  if (!state.item) return;
  setText(state.item.querySelector('.phase-time'), secs(now - state.phaseAt));
  state.item.removeAttribute('aria-current');
  state.item = null;
}

function openStep(name) {
  const li = make('li', 'phase phase-' + name);
  li.dataset.phase = name;
  li.setAttribute('aria-current', 'step');
  li.appendChild(make('span', 'phase-name', PHASES[name].step));
  li.appendChild(make('span', 'phase-time', secs(0)));
  els.phases.appendChild(li);
  state.item = li;
}

// Moves the run on to phase name (a key of PHASES); earlier ones are ignored.
export function setPhase(name) {
  if (!state.running || !PHASES[name] || ORDER.indexOf(name) <= ORDER.indexOf(state.phase)) return;
  const now = performance.now();
  closeStep(now);
  state.phase = name;
  state.phaseAt = now;
  if (name === 'running') {
    state.runningAt = now;
    setText(els.timeLimit, 'limit ' + Math.round(timeLimitMs() / 1000) + ' s');
    show(els.timeLimit, true);
    show(els.timeProgress, true);
  }
  openStep(name);
  setText(els.progressLabel, PHASES[name].label);
  setStatus(PHASES[name].status, 'busy');
  tick();
}

// The run's place in line for a sandbox (the server's "queued" phase with
// position, 1 for next, and when a sandbox would come to it): next to the
// Run button only, so that a screen reader hears the phase once, not each
// step of the line.
export function setQueuePlace(position, expectedMs) {
  if (!state.running || state.phase !== 'queued' || !(position > 0)) return;
  let words = position === 1 ? 'next in line' : position - 1 + ' ahead in line';
  if (expectedMs > 0) words += ', about ' + Math.ceil(expectedMs / 1000) + ' s';
  setText(els.progressLabel, 'Waiting for a sandbox… (' + words + ')');
}

function busy(on) {
  els.run.classList.toggle('running', on);
  els.progress.classList.toggle('running', on);
  if (on) {
    els.run.setAttribute('aria-disabled', 'true');
    els.form.setAttribute('aria-busy', 'true');
  } else {
    els.run.removeAttribute('aria-disabled');
    els.form.removeAttribute('aria-busy');
  }
  setText(els.runLabel, on ? 'Running…' : 'Run');
}

// A run begins: the button busy, the clock at zero, the first phase.
export function startProgress() {
  Object.assign(state, { running: true, startedAt: performance.now(), phase: '', runningAt: 0, item: null });
  busy(true);
  els.phases.textContent = '';
  show(els.phases, true);
  show(els.timeLimit, false);
  els.timeProgress.value = 0;
  show(els.progress, true);
  setPhase('sending');
  state.ticker = setInterval(tick, TICK_MS);
}

// The run ended: the clock stops at its total, the steps end with word
// (the run's outcome in a word or two) of kind (ok, fail, stopped, refused).
export function endProgress(word, kind) {
  if (!state.running) return;
  clearInterval(state.ticker);
  state.ticker = null;
  tick();
  closeStep(performance.now());
  state.running = false;
  const last = make('li', 'phase phase-end phase-end-' + kind, word);
  last.dataset.phase = 'end';
  els.phases.appendChild(last);
  setText(els.progressLabel, 'Last run took');
  show(els.timeLimit, false);
  show(els.timeProgress, false);
  busy(false);
}
