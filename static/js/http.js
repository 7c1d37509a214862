/*
 * Reading the service's JSON and text answers. Nothing here throws: a server
 * that cannot be reached is an answer too ({ok: false, network: true}).
 *
 * Requests for the operator's endpoints (/api/logs/, /api/metrics) carry
 * the operator's token when this tab holds one (IMGSANDBOX_LOGS_ACCESS=token;
 * the dashboard asks for it and keeps it in sessionStorage): nothing else
 * does.
 */

import { KEYS, load } from './storage.js';

// The page's URLs are relative to it (api/..., run): they work wherever the
// service is mounted (/, or /imgsandbox/ beside other sites).
const OPERATOR_URL = /^api\/(logs\/|metrics\b)/;

// The request options for url, with headers.
function options(url, headers) {
  const token = OPERATOR_URL.test(url) ? load('sessionStorage', KEYS.logsToken) : null;
  const all = { ...headers };
  if (token) all.Authorization = 'Bearer ' + token;
  return { credentials: 'same-origin', cache: 'no-store', headers: all };
}

// The body as JSON, or null when it is empty or not JSON.
export async function readJson(response) {
  try {
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  } catch (e) {
    return null;
  }
}

// GET url as JSON: {ok, status, body, network, authenticate}. ok needs a 2xx
// and a JSON body; authenticate is the WWW-Authenticate header ('' when none).
export async function getJson(url) {
  let response;
  try {
    response = await fetch(url, options(url, { Accept: 'application/json' }));
  } catch (e) {
    return { ok: false, network: true, status: 0, body: null, authenticate: '' };
  }
  const body = await readJson(response);
  return {
    ok: response.ok && body !== null, network: false, status: response.status, body: body,
    authenticate: response.headers.get('WWW-Authenticate') || ''
  };
}

// GET url as text: {ok, status, text, body, network}; body is a refusal's JSON.
export async function getText(url) {
  try {
    const response = await fetch(url, options(url, { Accept: 'text/plain' }));
    const text = await response.text();
    let body = null;
    if (!response.ok) {
      try {
        body = JSON.parse(text);
      } catch (e) {
        body = null;
      }
    }
    return { ok: response.ok, network: false, status: response.status, text: response.ok ? text : '', body: body };
  } catch (e) {
    return { ok: false, network: true, status: 0, text: '', body: null };
  }
}
