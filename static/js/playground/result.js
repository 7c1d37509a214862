/*
 * Showing the answer of a run: the status in a sentence and what to do, the
 * run's facts, the result image (and the others, outputs.js), the error with
 * its line marked in the editor, and what the script printed (streams.js).
 * Also a refusal's words.
 */

import { isObject, setText, show, wholeNumber } from '../dom.js';
import { formatBytes, formatDims, formatSeconds } from '../format.js';
import { errorMessageOf, STATUS_HINT, STATUS_TEXT } from '../statuses.js';
import { editor, markErrorLine } from './editor.js';
import { els } from './els.js';
import { hideDiff } from './diff-view.js';
import { clearOutputs, safeOutputUrl, showOutputs } from './outputs.js';
import { clearStreams, finishStreams } from './streams.js';

let outputInfo = null; // {width, height, bytes} from the answer

export function setStatus(text, kind) {
  setText(els.status, text);
  els.status.className = 'status status-' + kind;
}

export function setHint(text) {
  setText(els.statusHint, text || '');
  show(els.statusHint, !!text);
}

// The status line's kind for a run's status: ok, stopped (cancelled) or fail.
export function statusKind(status) {
  if (status === 'success') return 'ok';
  return status === 'cancelled' ? 'stopped' : 'fail';
}

export function clearResult() {
  setHint('');
  setText(els.runMeta, '');
  show(els.runMeta, false);
  els.resultImg.removeAttribute('src');
  show(els.resultImg, false);
  setText(els.resultDims, '');
  els.resultFigure.removeAttribute('data-output');
  els.download.removeAttribute('href');
  show(els.download, false);
  setText(els.error, '');
  setText(els.traceback, '');
  show(els.traceback, false);
  show(els.errorGoto, false);
  show(els.errorBox, false);
  clearStreams();
  clearOutputs();
  show(els.fixBar, false);
  hideDiff();
  els.resultPanel.classList.remove('has-error', 'has-result');
}

function errorSummary(result) {
  const err = isObject(result.error) ? result.error : null;
  if (err && err.type) {
    const line = Number.isInteger(err.line) && err.line > 0 ? ' on line ' + err.line : '';
    return 'The script raised ' + err.type + line;
  }
  if (typeof result.exit_code === 'number' && result.exit_code !== 0) {
    return 'The script failed with exit code ' + result.exit_code;
  }
  return 'The script failed';
}

function statusSentence(result) {
  if (result.status === 'success') {
    const ms = typeof result.duration_ms === 'number' ? result.duration_ms : 0;
    return 'Done in ' + formatSeconds(ms);
  }
  if (result.status === 'error') return errorSummary(result);
  return STATUS_TEXT[result.status] || 'The run ended with the status “' + result.status + '”';
}

function showMeta(result) {
  const parts = [];
  if (result.attempt != null) parts.push('Attempt ' + result.attempt);
  if (typeof result.exit_code === 'number') parts.push('exit code ' + result.exit_code);
  if (typeof result.duration_ms === 'number') parts.push('ran ' + formatSeconds(result.duration_ms));
  if (typeof result.job_id === 'string') parts.push('job ' + result.job_id.slice(0, 12));
  setText(els.runMeta, parts.join(' · '));
  els.runMeta.title = typeof result.job_id === 'string' ? 'Job ' + result.job_id : '';
  show(els.runMeta, parts.length > 0);
}

function outputLabel(width, height) {
  let text = formatDims(width, height);
  if (outputInfo && outputInfo.bytes) text += ' · ' + formatBytes(outputInfo.bytes);
  return text;
}

function showOutputImage(result) {
  const url = result.status === 'success' ? safeOutputUrl(result.url) : null;
  if (!url) return;
  const out = isObject(result.output) ? result.output : {};
  outputInfo = { width: wholeNumber(out.width), height: wholeNumber(out.height), bytes: wholeNumber(out.bytes) };
  if (outputInfo.width && outputInfo.height) setText(els.resultDims, outputLabel(outputInfo.width, outputInfo.height));
  els.resultFigure.dataset.output = 'result.png';
  els.resultImg.src = url;
  show(els.resultImg, true);
  els.download.href = url;
  show(els.download, true);
  els.resultPanel.classList.add('has-result');
}

function onResultLoaded() {
  if (!els.resultImg.getAttribute('src')) return;
  setText(els.resultDims, outputLabel(els.resultImg.naturalWidth, els.resultImg.naturalHeight));
}

function onResultFailed() {
  if (!els.resultImg.getAttribute('src')) return;
  show(els.resultImg, false);
  setHint('The result image could not be loaded; it may have been removed already. Run the script again.');
}

// The exception the script raised: its words, traceback and line.
function showException(err) {
  const hasLine = Number.isInteger(err.line) && err.line > 0;
  setText(els.error, errorMessageOf(err) + (hasLine ? ' (line ' + err.line + ')' : ''));
  const tb = typeof err.traceback === 'string' ? err.traceback : '';
  setText(els.traceback, tb);
  show(els.traceback, !!tb);
  if (hasLine) {
    setText(els.errorGoto, 'Go to line ' + err.line);
    els.errorGoto.dataset.line = String(err.line);
    markErrorLine(err.line, errorMessageOf(err));
  }
  show(els.errorGoto, hasLine);
}

function showError(result) {
  const err = isObject(result.error) ? result.error : null;
  // A timeout or a missing result is said by the status and its hint; the
  // box is for what the script raised.
  if (result.status !== 'error' && !(err && typeof err.traceback === 'string' && err.traceback)) return;
  if (err) showException(err);
  else setText(els.error, errorSummary(result) + '. See stderr below.');
  show(els.errorBox, true);
  els.resultPanel.classList.add('has-error');
}

// A finished run (a 200 answer).
export function showResult(result) {
  setStatus(statusSentence(result), statusKind(result.status));
  setHint(STATUS_HINT[result.status] || '');
  showMeta(result);
  showOutputImage(result);
  showOutputs(result);
  showError(result);
  finishStreams(result.stdout, result.stderr, result.truncated);
}

// A run that did not happen: {message, hint}.
export function showRefusal(refusal) {
  setStatus(refusal.message, 'refused');
  setHint(refusal.hint);
}

// The result image's events and the "Go to line" button.
export function startResult() {
  els.resultImg.addEventListener('load', onResultLoaded);
  els.resultImg.addEventListener('error', onResultFailed);
  els.errorGoto.addEventListener('click', function () {
    const line = parseInt(els.errorGoto.dataset.line, 10);
    if (line > 0) editor.goToLine(line);
  });
}
