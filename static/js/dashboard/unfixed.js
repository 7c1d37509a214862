/*
 * The unfixed failures (GET /api/logs/failures?unfixed_only=true), newest
 * first, twenty at a time, each with its code a click away; how many there
 * are in all comes from the summary.
 */

import { arr, isObject, make, num, setText, show, str } from '../dom.js';
import { formatWhen, plural, seconds } from '../format.js';
import { getJson } from '../http.js';
import { STATUS_WORD } from '../statuses.js';
import { els } from './els.js';
import { failureTitle, viewButton } from './log-dialog.js';
import { apiProblem, emptyState, showMessage } from './messages.js';

export const UNFIXED_URL = 'api/logs/failures?unfixed_only=true&limit=20';

let before = null; // the next page's "before", or null when there is none

function failureMeta(item) {
  const meta = [];
  if (num(item.log_id)) meta.push('log #' + num(item.log_id));
  if (num(item.attempt)) meta.push('attempt ' + num(item.attempt));
  if (str(item.session_id)) meta.push('session ' + str(item.session_id).slice(0, 8) + '…');
  if (formatWhen(item.created_at)) meta.push(formatWhen(item.created_at));
  if (num(item.duration_ms) != null) meta.push(seconds(item.duration_ms));
  return (STATUS_WORD[str(item.status)] || str(item.status)) + ' · ' + meta.join(' · ');
}

function failureItem(item) {
  const li = make('li', 'failure');
  li.appendChild(make('p', 'failure-title', failureTitle(item)));
  li.appendChild(make('p', 'failure-meta', failureMeta(item)));
  const actions = make('div', 'failure-actions');
  if (num(item.log_id)) actions.appendChild(viewButton(num(item.log_id), 'View code'));
  li.appendChild(actions);
  return li;
}

// Shows a page of failures (after those shown when append).
function renderUnfixed(page, append) {
  if (!append) els.unfixed.textContent = '';
  show(els.unfixedEmpty, false);
  arr(page && page.items).filter(isObject).forEach(function (item) {
    els.unfixed.appendChild(failureItem(item));
  });
  before = page && num(page.next_before) ? num(page.next_before) : null;
  show(els.unfixedMore, !!before);
  if (!els.unfixed.children.length) emptyState(els.unfixedEmpty, 'No unfixed failures. Every failure was fixed by a later attempt.');
}

// The first page's answer (got), and the count in all from the summary (or null).
export function showUnfixed(got, summary) {
  if (got.ok) renderUnfixed(got.body, false);
  else {
    els.unfixed.textContent = '';
    show(els.unfixedMore, false);
    emptyState(els.unfixedEmpty, apiProblem(got, 'The unfixed failures'));
  }
  const count = summary ? num(summary.failures_unfixed) : null;
  setText(els.unfixedCount, count != null ? plural(count, 'failure', 'failures') + ' in all' : '');
}

async function loadMoreUnfixed() {
  if (!before) return;
  els.unfixedMore.disabled = true;
  const got = await getJson(UNFIXED_URL + '&before=' + before);
  els.unfixedMore.disabled = false;
  if (got.ok) renderUnfixed(got.body, true);
  else showMessage(apiProblem(got, 'Older failures'));
}

export function startUnfixed() {
  els.unfixedMore.addEventListener('click', loadMoreUnfixed);
}
