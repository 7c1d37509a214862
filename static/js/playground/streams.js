/*
 * The stdout and stderr panes: text appended as the script prints it (live
 * output), then the final answer's text. Appending adds to one text node
 * per pane, at most once a frame, and never rebuilds the pane; a pane
 * scrolled to its end stays at its end, one scrolled up to read stays put.
 */

import { setText, show } from '../dom.js';
import { els } from './els.js';

// More than a pane would ever hold: the server caps each stream far below
// (stream_bytes of GET /api/limits); past this the page stops appending.
const PANE_MAX_CHARS = 1 << 20;
// How close to its end (in px) a pane counts as "at its end".
const STICK_PX = 8;

const panes = {
  stdout: { el: null, node: null, length: 0, pending: '' },
  stderr: { el: null, node: null, length: 0, pending: '' }
};
let frame = 0;

// The pane of stream ('stdout' or 'stderr'), or null.
function paneOf(stream) {
  const pane = panes[stream];
  if (pane && !pane.el) pane.el = els[stream];
  return pane || null;
}

function atEnd(el) {
  return el.scrollHeight - el.scrollTop - el.clientHeight <= STICK_PX;
}

function flushPane(pane) {
  if (!pane.pending) return;
  const text = pane.pending.slice(0, Math.max(0, PANE_MAX_CHARS - pane.length));
  pane.pending = '';
  if (!text) return;
  const stick = atEnd(pane.el);
  if (!pane.node) {
    pane.node = document.createTextNode('');
    pane.el.appendChild(pane.node);
  }
  pane.node.appendData(text);
  pane.length += text.length;
  if (stick) pane.el.scrollTop = pane.el.scrollHeight;
}

function flush() {
  if (frame) cancelAnimationFrame(frame);
  frame = 0;
  flushPane(paneOf('stdout'));
  flushPane(paneOf('stderr'));
}

// Empties both panes (a new run).
export function clearStreams() {
  if (frame) cancelAnimationFrame(frame);
  frame = 0;
  ['stdout', 'stderr'].forEach(function (name) {
    const pane = paneOf(name);
    pane.node = null;
    pane.length = 0;
    pane.pending = '';
    setText(pane.el, '');
  });
  show(els.truncatedNote, false);
}

// Adds text the script printed on stream ('stdout' or 'stderr').
export function appendStream(stream, text) {
  const pane = paneOf(stream);
  if (!pane || typeof text !== 'string' || !text) return;
  pane.pending += text;
  if (!frame) frame = requestAnimationFrame(flush);
}

// The answer's text of a pane: kept as it is when the live text is the
// same, else put in its place (the answer has the head and tail of a
// stream that was cut), at the end when the pane was at its end.
function finishPane(pane, text) {
  if ((pane.node ? pane.node.data : '') === text) return;
  const stick = atEnd(pane.el);
  setText(pane.el, '');
  pane.node = text ? pane.el.appendChild(document.createTextNode(text)) : null;
  pane.length = text.length;
  if (stick) pane.el.scrollTop = pane.el.scrollHeight;
}

// The run's final streams (from its answer); truncated: whether they were cut.
export function finishStreams(stdout, stderr, truncated) {
  flush();
  finishPane(paneOf('stdout'), typeof stdout === 'string' ? stdout : '');
  finishPane(paneOf('stderr'), typeof stderr === 'string' ? stderr : '');
  show(els.truncatedNote, truncated === true);
}

// A run that ended without an answer: what was printed stays as it is.
export function settleStreams() {
  flush();
}
