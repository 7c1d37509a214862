/*
 * The playground (static/index.html): sends a Python script and an image to
 * POST /run and shows what came back (shared/API.md has the contract).
 *
 * Plain ES modules, no framework, no build step, no innerHTML: every text
 * from the server or the person goes in through textContent, and nothing
 * inline, for the CSP (script-src 'self', style-src 'self'). This module
 * wires the others together at start-up:
 *   editor*.js, code.js   the code editor and the script it holds
 *   examples.js           the starter examples' menu
 *   params.js             the parameters box
 *   image*.js             the input image: chosen, dropped, pasted, checked
 *   limits.js             the service's limits (GET /api/limits)
 *   request.js, live.js   the request, and its live events (../sse.js)
 *   run.js                running it: progress.js the phases and the clock,
 *                         stop.js the Stop button
 *   result.js             showing the answer: outputs.js the images,
 *                         streams.js what the script printed
 *   history.js            the session's attempts
 *   assist*.js            describe, Generate, Fix with AI (POST /api/assist),
 *                         diff-view.js what a fix changed (../diff.js)
 *   health.js             the service's health in the header
 */

import { isObject, wholeNumber } from '../dom.js';
import { cancelAssist, noteEditorChange, startAssist } from './assist.js';
import { KEYS, load, save } from '../storage.js';
import { loadCode, resetCode, restoreCode, saveCodePending, saveCodeSoon } from './code.js';
import { clearErrorMarks, editor, markErrorLine, startEditor } from './editor.js';
import { isRunShortcut } from './editor-textarea.js';
import { els, findPlaygroundElements } from './els.js';
import { startExamplesMenu } from './examples.js';
import { startDiffView } from './diff-view.js';
import { checkHealth } from './health.js';
import { refreshHistory, startHistory } from './history.js';
import { onFileInput, onSampleToggle, showImageLimits, startImageChoice } from './image.js';
import { hasImageFile, startImageDrop } from './image-drop.js';
import { loadLimits } from './limits.js';
import { showOutputsLimit } from './outputs.js';
import { validateParams } from './params.js';
import { isRunning } from './progress.js';
import { startResult } from './result.js';
import { requestRun } from './run.js';
import { startStop } from './stop.js';

function onCodeChange() {
  clearErrorMarks();
  saveCodeSoon();
  noteEditorChange();
}

// Run, pressed by the person: it ends the assistant's work in progress
// (which would otherwise put its next script over this one).
function runByPerson() {
  if (!isRunning()) cancelAssist('run');
  requestRun();
}

// The editor, on the text box that holds the kept script.
function setUpEditor() {
  restoreCode();
  const kind = startEditor(els.code, { onRun: runByPerson, onChange: onCodeChange, isImageDrop: hasImageFile });
  document.body.classList.add(kind === 'codemirror' ? 'editor-codemirror' : 'editor-plain');
  if (kind !== 'textarea') {
    els.codeLabel.addEventListener('click', function (e) {
      e.preventDefault();
      editor.focus();
    });
  }
}

function bindEvents() {
  els.form.addEventListener('submit', function (e) {
    e.preventDefault();
    runByPerson();
  });
  els.resetCode.addEventListener('click', resetCode);
  els.params.addEventListener('input', validateParams);
  // Ctrl/Cmd+Enter runs from anywhere on the page (the editor handles its own).
  document.addEventListener('keydown', function (e) {
    if (isRunShortcut(e) && !e.defaultPrevented) {
      e.preventDefault();
      runByPerson();
    }
  });
  window.addEventListener('pagehide', saveCodePending);
}

// The input image the page starts with: a file the browser kept over a
// reload, else the sample, so that every example runs on a first visit.
function chooseFirstImage() {
  if (els.imageInput.files && els.imageInput.files.length) onFileInput();
  else {
    els.useSample.checked = true;
    onSampleToggle();
  }
}

// Code handed over by the dashboard ("Open in the playground").
function takeHandedCode() {
  const raw = load('sessionStorage', KEYS.open);
  if (!raw) return;
  save('sessionStorage', KEYS.open, null);
  let data;
  try {
    data = JSON.parse(raw);
  } catch (e) {
    return;
  }
  if (!isObject(data) || typeof data.code !== 'string') return;
  const id = wholeNumber(data.log_id);
  loadCode(data.code, 'Opened the code of log entry ' + (id ? '#' + id + ' ' : '') +
    'from the dashboard. Ctrl+Z brings your code back.');
  if (Number.isInteger(data.line) && data.line > 0) {
    markErrorLine(data.line, typeof data.message === 'string' ? data.message : '');
  }
}

// Once the limits are known, the words and checks that use them follow.
async function applyLimits() {
  if (!(await loadLimits())) return;
  showImageLimits();
  showOutputsLimit();
  validateParams();
}

function init() {
  findPlaygroundElements();
  setUpEditor();
  startExamplesMenu();
  startImageChoice();
  startImageDrop();
  startResult();
  startStop();
  startHistory();
  startAssist();
  startDiffView();
  bindEvents();
  validateParams();
  chooseFirstImage();
  takeHandedCode();
  applyLimits();
  checkHealth();
  refreshHistory();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
