/*
 * The session: the server issues its id with the first answer, the page sends
 * it back with every run (with the failed attempt the run tries to fix), and
 * keeps it for the tab only (sessionStorage).
 */

import { KEYS, load, save } from './storage.js';

// The API's rule for a session id (shared/API.md); the one copy in JavaScript.
export const SESSION_RE = /^[A-Za-z0-9_-]{1,64}$/;

const LOG_ID_RE = /^\d+$/;

export function isSessionId(value) {
  return typeof value === 'string' && SESSION_RE.test(value);
}

// The tab's session id, or null when there is none yet (or it is not valid).
export function currentSession() {
  const id = load('sessionStorage', KEYS.session);
  return isSessionId(id) ? id : null;
}

// The log id of the failure the next run tries to fix, or null.
export function previousAttempt() {
  const id = load('sessionStorage', KEYS.previous);
  return id && LOG_ID_RE.test(id) ? id : null;
}

// Keeps the session id of an answer (a run's, or a refusal's).
export function rememberSession(body) {
  if (body && isSessionId(body.session_id)) save('sessionStorage', KEYS.session, body.session_id);
}

// Keeps the session of a finished run, and the run itself when it failed.
// A cancelled run is no failure to fix: the one before it stays the one.
export function rememberAttempt(result) {
  rememberSession(result);
  if (result.status === 'cancelled') return;
  const failed = result.status !== 'success' && result.log_id != null && LOG_ID_RE.test(String(result.log_id));
  save('sessionStorage', KEYS.previous, failed ? String(result.log_id) : null);
}

// Starts afresh: the next run gets a new session from the server.
export function forgetSession() {
  save('sessionStorage', KEYS.session, null);
  save('sessionStorage', KEYS.previous, null);
}
