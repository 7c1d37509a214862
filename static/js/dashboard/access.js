/*
 * Who may read the log (shared/API.md, "Who may read the log"): when
 * /api/logs/ answers 403 forbidden (the log is the operator's) or 503
 * log_unavailable (it cannot be read), the dashboard says so in the
 * server's own words instead of showing empty panels. When the server
 * wants a bearer token (IMGSANDBOX_LOGS_ACCESS=token), a field takes the
 * operator's token; it is kept for this tab only (sessionStorage) and
 * ../http.js sends it with the log's requests alone.
 */

import { isObject, setText, show } from '../dom.js';
import { sentence } from '../format.js';
import { KEYS, load, save } from '../storage.js';
import { els } from './els.js';

// What stops the dashboard, from the answer of its first request (getJson's):
// {kind: 'forbidden' | 'unavailable', token, message}, or null when nothing does.
export function blockOf(got) {
  const err = isObject(got.body) && isObject(got.body.error) ? got.body.error : null;
  const code = err && typeof err.code === 'string' ? err.code : '';
  const message = err && typeof err.message === 'string' ? sentence(err.message) : '';
  if (got.status === 403) {
    const token = /^\s*bearer\b/i.test(got.authenticate || '') || /Authorization: Bearer/i.test(message);
    return { kind: 'forbidden', token: token, message: message || 'The execution log is the operator’s (HTTP 403).' };
  }
  if (got.status === 503 && code === 'log_unavailable') {
    return { kind: 'unavailable', token: false, message: message || 'The execution log cannot be read.' };
  }
  return null;
}

export function hasToken() {
  return !!load('sessionStorage', KEYS.logsToken);
}

function forgetToken() {
  save('sessionStorage', KEYS.logsToken, null);
}

const WORDS = {
  forbidden: {
    heading: 'The log is the operator’s',
    hint: 'It holds everyone’s scripts and prompts, so this server shows it to its operator only. ' +
      'The playground works for everyone.'
  },
  unavailable: {
    heading: 'The log cannot be read',
    hint: 'Runs go on, but they are not logged until the log can be read again. Press Refresh to try again.'
  }
};

// Shows block (blockOf's) instead of the panels; sentToken: the request
// carried a token (which, refused, is forgotten and said so).
export function showBlocked(block, sentToken) {
  const words = WORDS[block.kind];
  setText(els.accessHeading, words.heading);
  setText(els.accessMessage, block.message);
  setText(els.accessHint, words.hint);
  const refused = block.kind === 'forbidden' && sentToken;
  if (refused) forgetToken();
  setText(els.tokenError, refused ? 'The server did not accept that token.' : '');
  show(els.tokenForm, block.token);
  show(els.forgetToken, false);
  show(els.accessPanel, true);
  document.body.classList.add('log-blocked');
  if (refused) els.tokenInput.focus();
}

// The panels are back: the access panel goes.
export function hideBlocked() {
  show(els.accessPanel, false);
  document.body.classList.remove('log-blocked');
  show(els.forgetToken, hasToken());
  els.tokenInput.value = '';
  setText(els.tokenError, '');
}

// The token field and "Forget the token"; reload() loads the dashboard again.
export function startAccess(reload) {
  els.tokenForm.addEventListener('submit', function (e) {
    e.preventDefault();
    const token = els.tokenInput.value.trim();
    if (!token || /\s/.test(token)) {
      setText(els.tokenError, token ? 'A token has no spaces in it.' : 'Paste the operator’s token first.');
      els.tokenInput.focus();
      return;
    }
    save('sessionStorage', KEYS.logsToken, token);
    reload();
  });
  els.forgetToken.addEventListener('click', function () {
    forgetToken();
    reload();
  });
}
