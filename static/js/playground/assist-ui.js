/*
 * What the assistant's panel shows: its status line (a polite live region;
 * the clock next to it is not read out), a refusal with what to do, the
 * model's notes, the busy state of Generate / Fix with AI / Stop, and the
 * settings kept between visits (the description, fixing automatically and
 * how many times).
 */

import { setText, show } from '../dom.js';
import { KEYS, load, save } from '../storage.js';
import { els } from './els.js';

const TICK_MS = 250;
const MAX_FIXES = 5;
const DEFAULT_FIXES = 3;

let ticker = null;
let startedAt = 0;

// The status line: text of kind (busy, ok, fail, stopped, idle); the clock runs while busy.
export function say(text, kind) {
  setText(els.assistStatus, text);
  els.assistStatus.className = 'assist-status assist-' + (kind || 'idle');
  show(els.assistStatus, !!text);
  if (kind === 'busy') startClock();
  else stopClock();
}

function tick() {
  setText(els.assistClock, ((performance.now() - startedAt) / 1000).toFixed(0) + ' s');
}

function startClock() {
  if (ticker) return;
  startedAt = performance.now();
  tick();
  show(els.assistClock, true);
  ticker = setInterval(tick, TICK_MS);
}

function stopClock() {
  clearInterval(ticker);
  ticker = null;
  show(els.assistClock, false);
}

// A refusal: {title, message, hint}.
export function showAssistError(problem) {
  setText(els.assistErrorTitle, problem.title);
  setText(els.assistErrorMessage, problem.message || '');
  show(els.assistErrorMessage, !!problem.message);
  setText(els.assistErrorHint, problem.hint || '');
  show(els.assistErrorHint, !!problem.hint);
  show(els.assistError, true);
}

export function clearAssistError() {
  show(els.assistError, false);
  setText(els.assistErrorTitle, '');
  setText(els.assistErrorMessage, '');
  setText(els.assistErrorHint, '');
}

// The model's notes (text around its script), or none.
export function showNotes(notes, model) {
  const text = (notes || '').trim();
  setText(els.assistNotes, text);
  setText(els.assistNotesHeading, model ? 'Notes from ' + model : 'The model’s notes');
  show(els.assistNotesBox, !!text);
}

// Generate, Fix with AI and Stop while the assistant works (on) or not.
export function assistBusy(on) {
  [els.generate, els.fixAi].forEach(function (b) {
    if (on) b.setAttribute('aria-disabled', 'true');
    else b.removeAttribute('aria-disabled');
  });
  setText(els.generateLabel, on ? 'Working…' : 'Generate');
  els.assistPanel.classList.toggle('busy', on);
  const focused = document.activeElement === els.assistStop;
  show(els.assistStop, on);
  if (!on && focused) els.generate.focus();
}

// The Fix with AI bar under the status of a failed run.
export function showFixBar(on) {
  show(els.fixBar, on);
}

// How many fixes one request may make: the setting when fixing automatically, else 1.
export function fixesAllowed() {
  if (!els.autoFix.checked) return 1;
  const n = parseInt(els.autoFixMax.value, 10);
  return n >= 1 && n <= MAX_FIXES ? n : DEFAULT_FIXES;
}

function saveSettings() {
  save('localStorage', KEYS.autoFix, JSON.stringify({ on: els.autoFix.checked, max: els.autoFixMax.value }));
}

function restoreSettings() {
  els.assistPrompt.value = load('localStorage', KEYS.prompt) || '';
  let kept = null;
  try {
    kept = JSON.parse(load('localStorage', KEYS.autoFix) || 'null');
  } catch (e) {
    kept = null;
  }
  if (kept && typeof kept.on === 'boolean') els.autoFix.checked = kept.on;
  const max = kept ? parseInt(kept.max, 10) : NaN;
  els.autoFixMax.value = String(max >= 1 && max <= MAX_FIXES ? max : DEFAULT_FIXES);
  els.autoFixMax.disabled = !els.autoFix.checked;
}

// The settings' elements: restored, then kept as they change.
export function startAssistSettings() {
  restoreSettings();
  els.assistPrompt.addEventListener('input', function () {
    save('localStorage', KEYS.prompt, els.assistPrompt.value || null);
  });
  els.autoFix.addEventListener('change', function () {
    els.autoFixMax.disabled = !els.autoFix.checked;
    saveSettings();
  });
  els.autoFixMax.addEventListener('change', saveSettings);
}
