/*
 * The service's limits, from GET /api/limits (the server's one table of
 * settings), so that the page can refuse what the server would refuse before
 * sending it, in words that say what to change.
 *
 * Fetched at start-up without holding anything up. Until the answer comes,
 * or when it cannot be had, every limit is null and the page leaves that check
 * to the server, which makes it anyway (its refusal is shown as usual).
 */

import { isObject, wholeNumber } from '../dom.js';
import { getJson } from '../http.js';

const LIMITS_URL = 'api/limits';

// The page's names for the API's keys.
const FROM_API = {
  codeBytes: 'code_bytes',
  imageBytes: 'image_bytes',
  imagePixels: 'image_pixels',
  paramsBytes: 'params_bytes',
  timeoutMs: 'timeout_ms',
  outputFiles: 'output_files',
  promptBytes: 'prompt_bytes'
};

// Each one null until the server has said.
export const limits = {
  codeBytes: null, imageBytes: null, imagePixels: null, paramsBytes: null, timeoutMs: null, outputFiles: null,
  promptBytes: null
};

// Fetches the limits; resolves true when they came, false when the page
// carries on without them.
export async function loadLimits() {
  const got = await getJson(LIMITS_URL);
  if (!got.ok || !isObject(got.body)) return false;
  let any = false;
  Object.keys(FROM_API).forEach(function (name) {
    const value = wholeNumber(got.body[FROM_API[name]]);
    if (value != null && value > 0) {
      limits[name] = value;
      any = true;
    }
  });
  return any;
}
