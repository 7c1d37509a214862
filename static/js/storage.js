/*
 * The browser's storage, which may be unavailable (private modes, blocked
 * cookies, a full quota): every call works without it.
 */

export const KEYS = {
  code: 'imgsandbox.code', // the editor's script (localStorage)
  attemptCode: 'imgsandbox.attempt_code', // the code of the attempts this page sent, by log_id (localStorage)
  session: 'imgsandbox.session_id', // the session's id (sessionStorage)
  previous: 'imgsandbox.previous_attempt_id', // the failure the next run tries to fix (sessionStorage)
  open: 'imgsandbox.open', // code handed from the dashboard to the playground (sessionStorage)
  prompt: 'imgsandbox.prompt', // the assistant's description box (localStorage)
  autoFix: 'imgsandbox.auto_fix', // fix failures automatically, and how many times: {on, max} (localStorage)
  logsToken: 'imgsandbox.logs_token' // the operator's token for /api/logs/ (sessionStorage: this tab only)
};

// kind: 'localStorage' or 'sessionStorage'; null when the browser refuses it.
function storage(kind) {
  try {
    return window[kind] || null;
  } catch (e) {
    return null;
  }
}

// The stored string, or null.
export function load(kind, key) {
  const store = storage(kind);
  try {
    return store ? store.getItem(key) : null;
  } catch (e) {
    return null;
  }
}

// Stores value (removes the key when it is null); returns whether it was kept.
export function save(kind, key, value) {
  const store = storage(kind);
  if (!store) return false;
  try {
    if (value == null) store.removeItem(key);
    else store.setItem(key, String(value));
    return true;
  } catch (e) {
    return false; // full or refused: the page still works without it
  }
}
