/*
 * "What changed": the line diff (../diff.js) of two attempts' scripts,
 * shown in the result panel: after a fix with AI (the failed attempt and
 * its fix), or for any attempt of the history ("Changes"). Removed lines
 * are <del>, added ones <ins>, each with its sign and line number, long
 * unchanged stretches folded; every line goes in through textContent.
 * When a code cannot be had here (history.js), the view says why instead.
 */

import { make, setText, show } from '../dom.js';
import { diffHunks, lineDiff } from '../diff.js';
import { plural } from '../format.js';
import { els } from './els.js';

const CONTEXT_LINES = 3;

// The summary's words: what changed from `from` to `to` (their names).
function summaryText(d, from, to) {
  const head = from && to ? from + ' → ' + to + ': ' : '';
  if (!d.added && !d.removed) return head + 'the code is the same.';
  const parts = [];
  if (d.added) parts.push(plural(d.added, 'line added', 'lines added'));
  if (d.removed) parts.push(plural(d.removed, 'line removed', 'lines removed'));
  return head + parts.join(', ') + (d.approximate ? ' (too many changes to match line by line)' : '') + '.';
}

// One line of the diff as an element.
function lineElement(o) {
  if (o.op === 'skip') return make('span', 'diff-line diff-skip', '⋯ ' + plural(o.count, 'unchanged line', 'unchanged lines'));
  const tag = o.op === '+' ? 'ins' : o.op === '-' ? 'del' : 'span';
  const kind = o.op === '+' ? 'diff-add' : o.op === '-' ? 'diff-del' : 'diff-same';
  const el = make(tag, 'diff-line ' + kind);
  const no = o.op === '-' ? o.a : o.b;
  el.appendChild(make('span', 'diff-no', no == null ? '' : String(no))).setAttribute('aria-hidden', 'true');
  el.appendChild(make('span', 'diff-sign', o.op === '=' ? ' ' : o.op === '+' ? '+' : '-'));
  el.appendChild(make('span', 'diff-text', o.text));
  return el;
}

// Shows the diff of before and after (scripts) with from and to naming them
// (e.g. "attempt 2 (failed)", "attempt 3"). Returns {added, removed}.
export function showDiff(before, after, from, to) {
  const d = lineDiff(before || '', after || '');
  els.diff.textContent = '';
  diffHunks(d.ops, CONTEXT_LINES).forEach(function (o) {
    els.diff.appendChild(lineElement(o));
  });
  setText(els.diffSummary, summaryText(d, from, to));
  show(els.diff, d.ops.length > 0 && (d.added > 0 || d.removed > 0));
  show(els.diffBox, true);
  return { added: d.added, removed: d.removed };
}

// Says in the diff view why the diff from `from` to `to` cannot be shown (reason: a sentence).
export function showDiffUnavailable(from, to, reason) {
  els.diff.textContent = '';
  setText(els.diffSummary, from + ' → ' + to + ': ' + reason);
  show(els.diff, false);
  show(els.diffBox, true);
}

export function hideDiff() {
  show(els.diffBox, false);
  els.diff.textContent = '';
  setText(els.diffSummary, '');
}

export function startDiffView() {
  els.diffClose.addEventListener('click', function () {
    hideDiff();
    els.resultPanel.focus();
  });
}
