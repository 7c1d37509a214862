/*
 * The service's health in the header (GET /api/health): ready, unavailable
 * (and why), or unknown.
 */

import { isObject, make, setText, wholeNumber } from '../dom.js';
import { sentence } from '../format.js';
import { getJson } from '../http.js';
import { els } from './els.js';

const HEALTH_URL = 'api/health';

function setHealth(kind, text, detail) {
  els.health.className = 'health health-' + kind;
  setText(els.health, text);
  if (detail) {
    els.health.appendChild(make('span', 'visually-hidden', ': ' + detail));
    els.health.title = detail;
  }
}

// What a ready sandbox offers: "4 runs at once, 10 s per run."
function readyDetail(body) {
  const slots = wholeNumber(body.slots);
  const timeout = typeof body.timeout_ms === 'number' && body.timeout_ms > 0 ? body.timeout_ms : 10000;
  return (slots ? slots + ' runs at once, ' : '') + Math.round(timeout / 1000) + ' s per run.';
}

export async function checkHealth() {
  const got = await getJson(HEALTH_URL);
  if (got.network) {
    setHealth('down', 'Server unreachable', 'The page could not reach the server.');
    return;
  }
  const body = isObject(got.body) ? got.body : {};
  if (got.ok && body.ok === true) {
    setHealth('ok', 'Sandbox ready', readyDetail(body));
  } else if (got.status === 404) {
    setHealth('unknown', 'Sandbox status unknown', '');
  } else {
    setHealth('down', 'Sandbox unavailable',
      typeof body.message === 'string' && body.message ? sentence(body.message) : 'Runs will be refused until it is back.');
  }
}
