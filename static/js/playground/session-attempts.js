/*
 * The session's attempts as the log gives them (GET
 * /api/logs/session/<id>, shared/reports/report_rows.c): in pages of attempts
 * (?after=N, "next_after" where the next one starts), each row with an
 * excerpt of its code (code_excerpt, code_truncated, code_sha256,
 * code_bytes) rather than the whole; attempts_retired says how many of the
 * oldest ones retention let go. Read here into the history's attempts.
 */

import { isObject, str, wholeNumber } from '../dom.js';
import { getJson } from '../http.js';

const SESSION_URL = 'api/logs/session/';
const MAX_SHOWN = 500; // the last attempts shown (a page of the log holds up to 500)
const MAX_PAGES = 8; // followed at most (a page is cut short past 4 MiB)

// One attempt as the history keeps it, from the session answer's item a
// (i: its place, session: the session's id).
export function attemptOf(a, i, session) {
  return {
    id: wholeNumber(a.log_id) || wholeNumber(a.id),
    session: str(a.session_id) || session || '',
    attempt: wholeNumber(a.attempt) || i + 1,
    status: str(a.status) || 'unknown',
    time: str(a.created_at) || str(a.time) || str(a.timestamp),
    duration: wholeNumber(a.duration_ms),
    code: typeof a.code === 'string' ? a.code : null, // whole: only an older server's lists, or log/<id>
    excerpt: typeof a.code_excerpt === 'string' ? a.code_excerpt : null,
    truncated: typeof a.code_truncated === 'boolean' ? a.code_truncated : null,
    sha: str(a.code_sha256),
    bytes: wholeNumber(a.code_bytes),
    error: isObject(a.error) ? a.error : null,
    reject: isObject(a.reject) ? a.reject : null,
    fixedBy: wholeNumber(a.fixed_by),
    previous: wholeNumber(a.previous_attempt_id),
    changes: isObject(a.changes) ? a.changes : null
  };
}

// The rows of a session answer, whatever its exact shape; null when none can be read.
function rowsOf(body) {
  const list = Array.isArray(body) ? body : isObject(body) ? body.attempts || body.items || body.runs : null;
  return Array.isArray(list) ? list.filter(isObject) : null;
}

// One page of the session (after: the attempt it starts after, or 0):
// {rows, next, retired, count} or {rows: null, status, network}.
async function fetchPage(session, after) {
  const url = SESSION_URL + encodeURIComponent(session) + (after ? '?after=' + after : '');
  const got = await getJson(url);
  const rows = got.ok ? rowsOf(got.body) : null;
  if (!rows) return { rows: null, status: got.status, network: got.network };
  const body = isObject(got.body) ? got.body : {};
  return {
    rows: rows, next: wholeNumber(body.next_after) || 0, retired: wholeNumber(body.attempts_retired) || 0,
    count: wholeNumber(body.attempt_count) || rows.length
  };
}

// What a first page that could not be read means for the history.
function unread(page) {
  if (page.network) return { attempts: null, note: 'The server could not be reached; showing the runs of this page.' };
  if (page.status === 404) return { attempts: [], note: '' };
  return { attempts: null, note: 'The server’s history could not be read; showing the runs of this page.' };
}

// Adds the pages from `after` on to rows (at most MAX_PAGES); resolves
// where the next one would start (0: none left).
async function followPages(session, after, rows) {
  for (let n = 0; after && n < MAX_PAGES; n++) {
    const page = await fetchPage(session, after);
    if (!page.rows || !page.rows.length) break;
    page.rows.forEach(function (r) { rows.push(r); });
    after = page.next;
  }
  return after;
}

// The session's attempts from the server, the last MAX_SHOWN of them:
// {attempts, note, earlier, more}; attempts null when they could not be
// read, [] when the server has none; earlier: how many older ones are not
// shown (let go by retention, or past MAX_SHOWN); more: later ones could
// not be read.
export async function fetchAttempts(session) {
  const first = await fetchPage(session, 0);
  if (!first.rows) return unread(first);
  let rows = first.rows;
  let after = first.next;
  let earlier = first.retired;
  if (first.count > MAX_SHOWN && after) {
    // Past the last MAX_SHOWN: start there rather than page through the rest.
    rows = [];
    after = first.count - MAX_SHOWN;
    earlier = Math.max(after, first.retired);
  }
  after = await followPages(session, after, rows);
  const attempts = rows.map(function (r, i) { return attemptOf(r, i, session); });
  return { attempts: attempts, note: '', earlier: earlier, more: after > 0 };
}
