/*
 * A line diff of two texts (Myers' O((N+M)D) algorithm, written here: no
 * library), for "what changed between two attempts". Pure: no DOM.
 *
 *   lineDiff(before, after) -> {ops, added, removed, approximate}
 *     ops: [{op: '=' | '-' | '+', text, a, b}] in order; a and b are the
 *     line's numbers (from 1) in before and after (null where it has none).
 *   diffHunks(ops, context) -> the ops with long unchanged runs folded into
 *     {op: 'skip', count} (context lines kept around each change).
 *
 * Common first and last lines are taken off before the search; past
 * MAX_EDITS differences the search gives up and the middle is shown as all
 * of before removed and all of after added (approximate: true).
 */

const MAX_EDITS = 2000;

// The lines of text (\n or \r\n: a script sent in a form comes back from
// the log with \r\n); a final line break ends the last line rather than
// adding an empty one.
export function splitLines(text) {
  if (typeof text !== 'string' || text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// Myers' forward search over a[0..n) and b[0..m): the trace of V before each
// step d (each a copy of V[-d-1 .. d+1]), or null when it needs over maxD steps.
function searchTrace(a, b, maxD) {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace = [];
  for (let d = 0; d <= Math.min(max, maxD); d++) {
    trace.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) return trace;
    }
  }
  return null;
}

// Walks the trace back from (n, m): the edit script, first to last, with
// indexes into a and b (from 0).
function backtrack(trace, n, m) {
  const out = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d];
    const at = function (k) { return vd[k + d + 1]; };
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ op: '=', i: x - 1, j: y - 1 });
      x--;
      y--;
    }
    if (d === 0) break;
    if (x === prevX) out.push({ op: '+', i: null, j: y - 1 });
    else out.push({ op: '-', i: x - 1, j: null });
    x = prevX;
    y = prevY;
  }
  return out.reverse();
}

// The middle's edit script when the search gave up: all removed, then all added.
function replaceAll(n, m) {
  const out = [];
  for (let i = 0; i < n; i++) out.push({ op: '-', i: i, j: null });
  for (let j = 0; j < m; j++) out.push({ op: '+', i: null, j: j });
  return out;
}

// How many first and last lines a and b share (the last ones not overlapping the first).
function commonEnds(a, b) {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return { head: head, tail: tail };
}

// The diff of two texts line by line (see the top of this file).
export function lineDiff(before, after, maxEdits = MAX_EDITS) {
  const a = splitLines(before);
  const b = splitLines(after);
  const ends = commonEnds(a, b);
  const midA = a.slice(ends.head, a.length - ends.tail);
  const midB = b.slice(ends.head, b.length - ends.tail);
  const trace = searchTrace(midA, midB, maxEdits);
  const mid = trace ? backtrack(trace, midA.length, midB.length) : replaceAll(midA.length, midB.length);
  const ops = [];
  let added = 0;
  let removed = 0;
  for (let i = 0; i < ends.head; i++) ops.push({ op: '=', text: a[i], a: i + 1, b: i + 1 });
  mid.forEach(function (e) {
    const ia = e.i == null ? null : e.i + ends.head;
    const jb = e.j == null ? null : e.j + ends.head;
    if (e.op === '+') added++;
    if (e.op === '-') removed++;
    ops.push({ op: e.op, text: e.op === '+' ? b[jb] : a[ia], a: ia == null ? null : ia + 1, b: jb == null ? null : jb + 1 });
  });
  for (let t = ends.tail; t > 0; t--) {
    ops.push({ op: '=', text: a[a.length - t], a: a.length - t + 1, b: b.length - t + 1 });
  }
  return { ops: ops, added: added, removed: removed, approximate: !trace };
}

// The ops with unchanged runs folded, keeping context lines next to each
// change (a run of one line is shown rather than folded).
export function diffHunks(ops, context = 3) {
  const keep = new Array(ops.length).fill(false);
  ops.forEach(function (o, i) {
    if (o.op === '=') return;
    for (let j = Math.max(0, i - context); j <= Math.min(ops.length - 1, i + context); j++) keep[j] = true;
  });
  const out = [];
  let from = 0; // the first op of the unchanged run not yet shown
  const flush = function (to) {
    if (to - from > 1) out.push({ op: 'skip', count: to - from });
    else if (to - from === 1) out.push(ops[from]); // one line: shown rather than folded
  };
  ops.forEach(function (o, i) {
    if (!keep[i]) return;
    flush(i);
    out.push(o);
    from = i + 1;
  });
  flush(ops.length);
  return out;
}
