/*
 * The code of each attempt, for the history: bringing an attempt back,
 * and the diff between two attempts.
 *
 * The log's lists (GET /api/logs/session/<id>) carry only the head of each
 * attempt's code (code_excerpt, at most 4 KiB; code_truncated when the code
 * was longer), with its size and SHA-256. The whole code is GET
 * /api/logs/log/<id>'s, which answers the operator alone (403 to a person
 * on another machine). So this page keeps the code of every attempt it sent
 * itself (it knows it: it sent it), by log_id and session, in localStorage:
 * the last MAX_ATTEMPTS attempts, their distinct scripts at most MAX_CHARS
 * characters in all (a script that ran several times is kept once), the
 * oldest let go first.
 *
 * An attempt's code is, in this order: the one kept here (when the log's
 * row has the same session and size), the excerpt when it is the whole
 * code, the log's whole code when log/<id> answers; else it is not
 * available here, and the reason is said in words.
 */

import { isObject } from '../dom.js';
import { byteLength, formatBytes } from '../format.js';
import { getJson } from '../http.js';
import { KEYS, load, save } from '../storage.js';

export const MAX_ATTEMPTS = 50;
export const MAX_CHARS = 1024 * 1024; // of the scripts kept, in all (localStorage holds about 5 M)

const LOG_URL = 'api/logs/log/';
const LOG_ID_RE = /^\d+$/;

let wholeRefused = false; // log/<id> answered 403 here: not asked again

// The store as kept: {attempts: [[logId, session, key], ...] oldest first,
// codes: {key: code}}; an empty one when there is none or it is unreadable.
function readStore() {
  const empty = { attempts: [], codes: {} };
  let data = null;
  try {
    data = JSON.parse(load('localStorage', KEYS.attemptCode) || 'null');
  } catch (e) {
    return empty;
  }
  if (!isObject(data) || !Array.isArray(data.attempts) || !isObject(data.codes)) return empty;
  const attempts = data.attempts.filter(function (a) {
    return Array.isArray(a) && typeof a[0] === 'string' && typeof a[1] === 'string' && typeof data.codes[a[2]] === 'string';
  });
  return { attempts: attempts, codes: data.codes };
}

// Drops the codes no attempt refers to; returns the characters kept.
function collect(store) {
  const used = {};
  let chars = 0;
  store.attempts.forEach(function (a) { used[a[2]] = true; });
  Object.keys(store.codes).forEach(function (k) {
    if (!used[k]) delete store.codes[k];
    else chars += store.codes[k].length;
  });
  return chars;
}

// Lets the oldest attempts go until the store is within its bounds.
function prune(store) {
  if (store.attempts.length > MAX_ATTEMPTS) store.attempts.splice(0, store.attempts.length - MAX_ATTEMPTS);
  while (collect(store) > MAX_CHARS && store.attempts.length > 1) store.attempts.shift();
}

// Writes the store; when the browser refuses (its quota), lets half of the
// attempts go and tries again. Returns whether it was kept.
function writeStore(store) {
  for (;;) {
    prune(store);
    if (save('localStorage', KEYS.attemptCode, JSON.stringify(store))) return true;
    if (store.attempts.length <= 1) return false;
    store.attempts.splice(0, Math.ceil(store.attempts.length / 2));
  }
}

// A short name for code among the store's: its length and a hash, unique.
function keyOf(store, code) {
  let h = 0x811c9dc5;
  for (let i = 0; i < code.length; i++) {
    h ^= code.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  const base = code.length.toString(36) + '.' + (h >>> 0).toString(36);
  let key = base;
  for (let n = 1; typeof store.codes[key] === 'string' && store.codes[key] !== code; n++) key = base + '.' + n;
  return key;
}

// Line breaks as the editor has them (the log keeps what the form sent: CRLF).
function lf(code) {
  return code.replace(/\r\n/g, '\n');
}

// Keeps code as attempt logId of session (both as the run's answer gave
// them). Returns whether it was kept.
export function keepAttemptCode(logId, session, code) {
  const id = logId == null ? '' : String(logId);
  if (!LOG_ID_RE.test(id) || typeof session !== 'string' || !session || typeof code !== 'string') return false;
  const store = readStore();
  store.attempts = store.attempts.filter(function (a) { return a[0] !== id; });
  const key = keyOf(store, code);
  store.codes[key] = code;
  store.attempts.push([id, session, key]);
  return writeStore(store);
}

// The code kept for attempt logId of session, or null.
export function keptCode(logId, session) {
  const id = String(logId);
  const store = readStore();
  for (let i = store.attempts.length - 1; i >= 0; i--) {
    const a = store.attempts[i];
    if (a[0] === id && a[1] === session) return store.codes[a[2]];
  }
  return null;
}

// What the store holds: {attempts, chars} (for the tests and the curious).
export function keptFigures() {
  const store = readStore();
  return { attempts: store.attempts.length, chars: collect(store) };
}

// Whether code is the code the log's row describes (a: attemptOf's): the
// same size as sent (the form sends CRLF line breaks), when the row says it.
function sameSize(code, a) {
  if (a.bytes == null) return true;
  return byteLength(code) === a.bytes || new TextEncoder().encode(code).length === a.bytes;
}

// The log's whole code of attempt a: {code} or {why} (words for the reason).
async function wholeFromLog(a) {
  if (wholeRefused) return { why: 'the whole of it is the operator’s' };
  const got = await getJson(LOG_URL + encodeURIComponent(a.id));
  if (got.ok && isObject(got.body) && typeof got.body.code === 'string') return { code: got.body.code };
  if (got.status === 403) {
    wholeRefused = true;
    return { why: 'the whole of it is the operator’s' };
  }
  if (got.status === 404) return { why: 'the log no longer has it' };
  if (got.network) return { why: 'the server could not be reached' };
  return { why: 'the log could not give it (HTTP ' + got.status + ')' };
}

// Why attempt a's code is not here, in a sentence.
function unavailable(a, why) {
  const head = a.excerpt ? 'the log shows only its first ' + formatBytes(byteLength(a.excerpt)) +
    (a.bytes ? ' of ' + formatBytes(a.bytes) : '') + ', ' : '';
  return 'The code of attempt ' + a.attempt + ' is not available here: ' + head + why +
    ', and this browser does not keep it (it was run from another browser, or its copy here was let go).';
}

// The code of attempt a (history.js's attemptOf: id, session, attempt,
// code, excerpt, truncated, bytes): resolves {code, source: 'log' | 'page'
// | 'excerpt'}, or {code: null, reason} with the reason in words.
export async function attemptCode(a) {
  if (typeof a.code === 'string') return { code: lf(a.code), source: 'log' };
  const kept = a.id && a.session ? keptCode(a.id, a.session) : null;
  if (kept != null && sameSize(kept, a)) return { code: lf(kept), source: 'page' };
  if (typeof a.excerpt === 'string' && a.truncated === false) return { code: lf(a.excerpt), source: 'excerpt' };
  if (!a.id) return { code: null, reason: 'The code of attempt ' + a.attempt + ' is not available here.' };
  const got = await wholeFromLog(a);
  if (typeof got.code === 'string') return { code: lf(got.code), source: 'log' };
  return { code: null, reason: unavailable(a, got.why) };
}
