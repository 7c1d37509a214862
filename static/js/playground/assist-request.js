/*
 * The assistant's request: POST /api/assist (JSON; fcgi/assist_api.c and
 * shared/API.md) with {prompt, code, log_id, session_id}, and its answer
 * {code, model, notes, lessons, session_id, ai_token} (the token lets the
 * run of that very code keep model and lessons); a refusal in words a person can act on,
 * one for each way it fails: no model configured, the model down or slow,
 * an answer that is no script, a request too large, too many at once.
 */

import { isObject } from '../dom.js';
import { sentence } from '../format.js';
import { readJson } from '../http.js';
import { rememberSession } from '../session.js';
import { retryAfterSeconds } from './request.js';

export const ASSIST_URL = 'api/assist';

const KEPT = 'Your description and your script are kept as they were.';

// The words of a refusal with API code `code` and HTTP status: {kind, title, hint}.
function refusalWords(status, code, message, retryAfter) {
  if (code === 'ai_unavailable' && /no model is configured/i.test(message)) {
    return { kind: 'unconfigured', title: 'No model is configured on this server.',
      hint: 'The operator sets IMGSANDBOX_AI_URL to an OpenAI-compatible endpoint (and IMGSANDBOX_AI_MODEL), ' +
        'then restarts the service. Until then, write the script by hand.' };
  }
  if (code === 'ai_unavailable' || (status === 503 && !code)) {
    return { kind: 'unavailable', title: 'The model did not answer.',
      hint: 'It may be down, busy or slower than the server waits for. Try again in a moment.' };
  }
  if (code === 'ai_bad_reply') {
    return { kind: 'bad_reply', title: 'The model’s answer was not a script.',
      hint: 'Try again, or say more precisely what the script should do.' };
  }
  if (code === 'ai_error') {
    return { kind: 'model_error', title: 'The model refused the request.',
      hint: 'The operator can check the model’s settings (IMGSANDBOX_AI_URL, IMGSANDBOX_AI_MODEL, IMGSANDBOX_AI_KEY_FILE).' };
  }
  if (status === 429) {
    const secs = retryAfterSeconds(retryAfter);
    return { kind: 'busy', title: 'Too many requests at once.', hint: secs ? 'Try again in ' + secs + ' s.' : 'Try again in a moment.',
      retryAfter: secs };
  }
  if (status === 413) return { kind: 'too_large', title: 'The request is too large.', hint: 'Shorten the description or the script.' };
  if (status === 404) {
    return { kind: 'not_found', title: 'The failed attempt could not be found.', hint: 'Run the script again, then ask for a fix.' };
  }
  return { kind: 'refused', title: 'The assistant could not answer (HTTP ' + status + ').', hint: '' };
}

// A refusal: {ok: false, kind, title, message, hint, retryAfter}; message is
// the server's own sentence; retryAfter (seconds) only for 429.
function refusalOf(response, body) {
  const err = isObject(body) && isObject(body.error) ? body.error : null;
  const code = err && typeof err.code === 'string' ? err.code : '';
  const message = err && typeof err.message === 'string' ? sentence(err.message) : '';
  const words = refusalWords(response.status, code, message, response.headers.get('Retry-After'));
  return { ok: false, kind: words.kind, title: words.title, message: message, hint: (words.hint ? words.hint + ' ' : '') + KEPT,
    retryAfter: words.retryAfter || null };
}

// The answer when it is one: {code, model, notes, lessons, token}, else null.
// Its session becomes the tab's: the token holds for that session alone.
function answerOf(body) {
  if (!isObject(body) || typeof body.code !== 'string' || !body.code.trim()) return null;
  rememberSession(body);
  return {
    code: body.code,
    model: typeof body.model === 'string' ? body.model : '',
    notes: typeof body.notes === 'string' ? body.notes : '',
    lessons: body.lessons === true,
    token: typeof body.ai_token === 'string' ? body.ai_token : ''
  };
}

// The request's body: prompt always, the others when given.
function requestBody(req) {
  const body = { prompt: req.prompt || '' };
  if (typeof req.code === 'string' && req.code) body.code = req.code;
  if (req.logId) body.log_id = Number(req.logId);
  if (req.sessionId) body.session_id = req.sessionId;
  return JSON.stringify(body);
}

// Asks the model through the server. req: {prompt, code, logId, sessionId};
// signal aborts. Resolves {ok: true, answer}, {ok: false, aborted: true}, or
// a refusal (see refusalOf). Never throws.
export async function askModel(req, signal) {
  let response;
  try {
    response = await fetch(ASSIST_URL, {
      method: 'POST', body: requestBody(req), credentials: 'same-origin', cache: 'no-store', signal: signal,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' }
    });
  } catch (e) {
    if (signal && signal.aborted) return { ok: false, aborted: true };
    return { ok: false, kind: 'network', title: 'The server could not be reached.', message: '',
      hint: 'Check your connection and that the service is running, then try again. ' + KEPT };
  }
  const body = await readJson(response);
  if (signal && signal.aborted) return { ok: false, aborted: true };
  if (!response.ok) return refusalOf(response, body);
  const answer = answerOf(body);
  if (!answer) {
    return { ok: false, kind: 'unreadable', title: 'The server sent an answer this page cannot read.', message: '', hint: KEPT };
  }
  return { ok: true, answer: answer };
}
