/*
 * The request of a run (POST /run, multipart/form-data, see shared/API.md)
 * and a refused request in words a person can act on.
 */

import { isObject } from '../dom.js';
import { formatLimitBytes, sentence } from '../format.js';
import { currentSession, previousAttempt } from '../session.js';
import { limits } from './limits.js';

export const RUN_URL = 'run';

// A hint for each refusal code of the API (the 429 one is built from
// Retry-After, the 413 one from the limits).
const REFUSAL_HINT = {
  bad_request: 'Try again; if it keeps happening, reload the page.',
  method_not_allowed: 'Reload the page and try again.',
  unsupported_image: 'Choose a PNG or JPEG file that opens in an image viewer.',
  bad_params: 'The parameters must be a JSON object, like {"strength": 0.8}.'
};

function tooLargeHint() {
  const image = limits.imageBytes != null ? ' (up to ' + formatLimitBytes(limits.imageBytes) + ')' : '';
  return 'Use a smaller image' + image + ' or shorter code or parameters.';
}

// The form of a run: the code, the image (a file, or the sample), the
// parameters (text or null), and the session with the failure it fixes.
// extra (optional): {previous, prompt, model, lessons, token}: the failed
// attempt's log_id this run fixes (instead of the session's last failure),
// and, when a model wrote the code, what the person asked for, which model
// it was, and the token POST /api/assist gave for that code.
export function buildForm(code, params, source, extra) {
  const form = new FormData();
  const more = extra || {};
  form.append('code', code);
  if (source && source.kind === 'file') form.append('image', source.file, source.file.name);
  else if (source && source.kind === 'sample') form.append('use_sample', '1');
  if (params != null) form.append('params', params);
  const session = currentSession();
  if (session) {
    form.append('session_id', session);
    const previous = more.previous ? String(more.previous) : previousAttempt();
    if (previous) form.append('previous_attempt_id', previous);
  }
  if (more.prompt) form.append('user_prompt', more.prompt);
  if (more.model) form.append('ai_model', more.model);
  if (typeof more.lessons === 'boolean') form.append('ai_lessons', more.lessons ? '1' : '0');
  if (more.token) form.append('ai_token', more.token); // POST /run keeps model and lessons only with it
  return form;
}

// Retry-After is either seconds or an HTTP date; returns whole seconds or null.
export function retryAfterSeconds(header) {
  if (!header) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.max(1, parseInt(value, 10));
  const when = Date.parse(value);
  if (isNaN(when)) return null;
  return Math.max(1, Math.ceil((when - Date.now()) / 1000));
}

function fallbackRefusal(status) {
  if (status === 413) return 'The request is too large.';
  if (status === 429) return 'Every sandbox is busy right now.';
  if (status === 502 || status === 504) return 'The server did not answer in time (HTTP ' + status + ').';
  if (status === 503) return 'The sandbox is not available right now.';
  if (status >= 500) return 'The server could not run the script (HTTP ' + status + ').';
  return 'The server refused the request (HTTP ' + status + ').';
}

function refusalHint(status, retryAfter, code) {
  if (code === 'busy' || status === 429) {
    const secs = retryAfterSeconds(retryAfter);
    return secs ? 'Try again in ' + secs + ' s.' : 'Try again in a moment.';
  }
  if (code === 'sandbox_unavailable' || status === 503) return '';
  if (code === 'too_large') return tooLargeHint();
  const hint = REFUSAL_HINT[code] || '';
  return !hint && status >= 500 ? 'Try again in a moment.' : hint;
}

// A refusal with HTTP status, its Retry-After header (or null) and body.
function refusalOf(status, retryAfter, body) {
  const err = isObject(body) && isObject(body.error) ? body.error : null;
  const code = err && typeof err.code === 'string' ? err.code : '';
  const given = err && typeof err.message === 'string' ? sentence(err.message) : '';
  return { message: given || fallbackRefusal(status), hint: refusalHint(status, retryAfter, code), code: code };
}

// A refused request in words: {message, hint, code}. Never the raw body.
export function describeRefusal(response, body) {
  return refusalOf(response.status, response.headers.get('Retry-After'), body);
}

// Whether the live stream's last event is a refusal after the stream began
// ({"error": {code, message}, "http_status": 429, ...}) rather than a run's answer.
export function isStreamRefusal(body) {
  return isObject(body) && typeof body.status !== 'string' && isObject(body.error);
}

// Such a refusal in words (the stream has no Retry-After to read).
export function describeStreamRefusal(body) {
  return refusalOf(typeof body.http_status === 'number' ? body.http_status : 500, null, body);
}
