/*
 * The parameters box: a JSON object (or nothing), checked as it is typed,
 * with words for what is wrong and where.
 */

import { setText } from '../dom.js';
import { byteLength, formatBytes, formatLimitBytes } from '../format.js';
import { els } from './els.js';
import { limits } from './limits.js';

function describeKind(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'true or false';
  return 'a ' + typeof value;
}

function lineAndColumn(text, position) {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return 'line ' + line + ', column ' + column;
}

// Where a JSON.parse failure is, as "line 2, column 5"; '' when unknown.
function jsonErrorPlace(text, raw) {
  let m = /line (\d+) column (\d+)/.exec(raw);
  if (m) return 'line ' + m[1] + ', column ' + m[2];
  m = /position (\d+)/.exec(raw);
  return m ? lineAndColumn(text, Number(m[1])) : '';
}

// Words for a JSON.parse failure: where it is, what the parser said, and a
// hint for the usual mistakes.
function describeJsonError(text, error) {
  const raw = String(error && error.message || '');
  const where = jsonErrorPlace(text, raw);
  const what = raw
    .replace(/^JSON\.parse:\s*/, '')
    .replace(/\s*\(line \d+ column \d+\)/, '')
    .replace(/\s*(in JSON )?at position \d+.*$/, '')
    .replace(/\s*at line \d+ column \d+ of the JSON data$/, '')
    .replace(/^SyntaxError:\s*/, '')
    .replace(/, "[\s\S]*" is not valid JSON$/, '')
    .trim();
  let msg = 'This is not valid JSON' + (where ? ' (' + where + ')' : '') + (what ? ': ' + what : '') + '.';
  if (/,\s*[}\]]/.test(text)) msg += ' JSON does not allow a comma before } or ].';
  else if (/'/.test(text)) msg += ' JSON needs double quotes (") around keys and strings.';
  else if (/[{,]\s*[A-Za-z_][\w-]*\s*:/.test(text)) msg += ' Put the keys in double quotes, like {"size": 3}.';
  return msg;
}

// Returns {ok: true, value: text or null when empty} or {ok: false, message}.
function checkParams(text) {
  if (!text.trim()) return { ok: true, value: null };
  const size = byteLength(text);
  if (limits.paramsBytes != null && size > limits.paramsBytes) {
    return {
      ok: false,
      message: 'The parameters are too long (' + formatBytes(size) + '); the limit is ' +
        formatLimitBytes(limits.paramsBytes) + '.'
    };
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, message: describeJsonError(text, e) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      message: 'The parameters must be a JSON object, like {"strength": 0.8}, not ' + describeKind(value) + '.'
    };
  }
  return { ok: true, value: text };
}

// Checks the box, shows what is wrong; returns what checkParams returns.
export function validateParams() {
  const result = checkParams(els.params.value);
  setText(els.paramsError, result.ok ? '' : result.message);
  els.params.setAttribute('aria-invalid', result.ok ? 'false' : 'true');
  els.params.classList.toggle('invalid', !result.ok);
  return result;
}
