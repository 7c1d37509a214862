/*
 * The dashboard's message line: what could not be loaded, in sentences, each
 * said once.
 */

import { isObject, setText, show } from '../dom.js';
import { sentence } from '../format.js';
import { els } from './els.js';

let messages = [];

// The error of a refused API call (what getJson/getText return), as a sentence.
export function apiProblem(got, what) {
  const err = got && isObject(got.body) && isObject(got.body.error) ? got.body.error : null;
  const msg = err && typeof err.message === 'string' ? sentence(err.message) : '';
  if (got && got.network) return what + ' could not be loaded: the server could not be reached.';
  if (msg) return what + ' could not be loaded. ' + msg;
  return what + ' could not be loaded (HTTP ' + (got ? got.status : '?') + ').';
}

export function showMessage(text) {
  if (messages.indexOf(text) === -1) messages.push(text);
  setText(els.message, messages.join(' '));
  show(els.message, true);
}

export function clearMessages() {
  messages = [];
  setText(els.message, '');
  show(els.message, false);
}

// An empty state's words, shown.
export function emptyState(el, text) {
  setText(el, text);
  show(el, true);
}
