/*
 * The recommendations (the analysis's): advice for writing scripts, each
 * with the error it answers, how often, what was learnt, and an example.
 */

import { arr, isObject, make, num, show, str } from '../dom.js';
import { pct, plural } from '../format.js';
import { els } from './els.js';
import { viewButton } from './log-dialog.js';
import { emptyState } from './messages.js';
import { CATEGORY_WORD } from './patterns.js';

// Text with `code` spans, as nodes (never markup).
function richText(parent, text) {
  String(text).split('`').forEach(function (part, i) {
    if (!part) return;
    parent.appendChild(i % 2 ? make('code', null, part) : document.createTextNode(part));
  });
  return parent;
}

function recHead(r) {
  const head = make('div', 'rec-head');
  if (r.error_type) head.appendChild(make('span', 'rec-type', r.error_type));
  if (r.category) head.appendChild(make('span', 'badge badge-neutral', CATEGORY_WORD[r.category] || r.category));
  if (num(r.count) != null) {
    head.appendChild(make('span', null, plural(num(r.count), 'time', 'times') + ' · ' + pct(r.fix_rate) + ' fixed later'));
  }
  return head;
}

function recItem(r) {
  const li = make('li', 'rec');
  li.appendChild(recHead(r));
  li.appendChild(richText(make('p', 'rec-advice'), str(r.advice)));
  const learnt = arr(r.learnt).filter(function (x) { return typeof x === 'string'; });
  if (learnt.length) {
    const ul = make('ul', 'rec-learnt');
    learnt.forEach(function (l) { ul.appendChild(richText(make('li'), l)); });
    li.appendChild(ul);
  }
  if (num(r.example_log_id)) {
    const foot = make('p', 'rec-foot');
    foot.appendChild(viewButton(num(r.example_log_id), 'See an example (log #' + num(r.example_log_id) + ')'));
    li.appendChild(foot);
  }
  return li;
}

// The first eight recommendations (recs: the server's list, or [] when unavailable).
export function renderRecommendations(recs) {
  els.recs.textContent = '';
  show(els.recsEmpty, false);
  const items = arr(recs).filter(isObject).slice(0, 8);
  if (!items.length) {
    emptyState(els.recsEmpty, 'No recommendations yet: they come from failures in the log.');
    return;
  }
  items.forEach(function (r) {
    els.recs.appendChild(recItem(r));
  });
}
