/*
 * The top error patterns (the analysis's error_patterns): the error, its
 * category, how often, how often fixed later, when last seen, an example.
 */

import { arr, isObject, make, num, show, str } from '../dom.js';
import { formatWhen, pct } from '../format.js';
import { STATUS_WORD } from '../statuses.js';
import { els } from './els.js';
import { viewButton } from './log-dialog.js';
import { emptyState } from './messages.js';

// The analysis's error categories, in words.
export const CATEGORY_WORD = {
  import: 'import', attribute: 'attribute', data_access: 'data access', type: 'type', value: 'value',
  syntax: 'syntax', name: 'name', file: 'file', image: 'image', memory: 'memory', timeout: 'timeout',
  output: 'output', rejected: 'refused', other: 'other'
};

function patternCell(p) {
  const cell = make('td', 'pattern-cell');
  const head = make('div');
  head.appendChild(make('strong', 'mono', str(p.type) || STATUS_WORD[str(p.category)] || 'Error'));
  if (p.category) head.appendChild(make('span', 'badge badge-neutral', CATEGORY_WORD[p.category] || p.category));
  head.classList.add('history-head');
  cell.appendChild(head);
  cell.appendChild(make('div', 'mono', str(p.pattern)));
  return cell;
}

function patternRow(p) {
  const tr = make('tr');
  tr.appendChild(patternCell(p));
  tr.appendChild(make('td', 'num', num(p.count) == null ? '–' : num(p.count)));
  tr.appendChild(make('td', 'num', (num(p.fixed) || 0) + ' · ' + pct(p.fix_rate)));
  tr.appendChild(make('td', 'when', formatWhen(p.last_seen)));
  const act = make('td');
  if (num(p.example_log_id)) act.appendChild(viewButton(num(p.example_log_id), 'Example'));
  tr.appendChild(act);
  return tr;
}

// The ten most frequent patterns (patterns: the server's list, or [] when unavailable).
export function renderPatterns(patterns) {
  const body = els.patternsTable.tBodies[0];
  body.textContent = '';
  const list = arr(patterns).filter(isObject).slice(0, 10);
  show(els.patternsTable, list.length > 0);
  show(els.patternsEmpty, false);
  if (!list.length) {
    emptyState(els.patternsEmpty, 'No failures logged yet.');
    return;
  }
  list.forEach(function (p) {
    body.appendChild(patternRow(p));
  });
}
