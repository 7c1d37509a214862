/*
 * A run with live output: POST /run with Accept: text/event-stream (see
 * shared/API.md, "Live output"). The server answers with events as the run
 * goes: job {job_id, session_id} first, phase {phase}, stdout and stderr
 * {text} as the script prints, done (the whole answer of a plain POST /run)
 * last. A request refused before the stream began is the usual JSON answer,
 * and so is the answer of a server that does not stream: both are handed
 * back as they came.
 */

import { isObject } from '../dom.js';
import { readJson } from '../http.js';
import { readEvents } from '../sse.js';
import { RUN_URL } from './request.js';

const STREAM_TYPE = /^\s*text\/event-stream\b/i;

// Calls the handler of one event with its data parsed; data that is not a
// JSON object is left out (the server always sends one).
function dispatch(handlers, got, type, data) {
  let value;
  try {
    value = JSON.parse(data);
  } catch (e) {
    return;
  }
  if (!isObject(value)) return;
  if (type === 'done') {
    got.done = value;
  }
  const handler = handlers[type];
  if (typeof handler === 'function') handler(value);
}

// Reads the stream to its end: resolves {kind: 'stream', done, broken}, done
// the last event's data or null when the stream ended without it, broken
// when reading failed (the connection broke, or the fetch was aborted).
async function readStream(response, handlers) {
  const got = { kind: 'stream', done: null, broken: false };
  try {
    await readEvents(response, function (type, data) {
      if (!got.done) dispatch(handlers, got, type, data);
    });
  } catch (e) {
    got.broken = true;
  }
  return got;
}

// Sends form to POST /run asking for events; handlers {job, phase, stdout,
// stderr, done} are called as they come; signal aborts the request (closing
// the stream cancels the run on the server). Resolves:
//   {kind: 'stream', done, broken}    an event stream, read to its end;
//   {kind: 'json', response, body}    a JSON answer (a refusal, or a server
//                                     that does not stream);
//   null                              the server could not be reached (or
//                                     the request was aborted before any answer).
export async function sendLive(form, handlers, signal) {
  let response;
  try {
    response = await fetch(RUN_URL, {
      method: 'POST',
      body: form,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'text/event-stream, application/json;q=0.5' },
      signal: signal
    });
  } catch (e) {
    return null;
  }
  if (response.ok && response.body && STREAM_TYPE.test(response.headers.get('Content-Type') || '')) {
    return readStream(response, handlers);
  }
  return { kind: 'json', response: response, body: await readJson(response) };
}
