/*
 * Reading the service's JSON and text answers. Nothing here throws: a server
 * that cannot be reached is an answer too ({ok: false, network: true}).
 */

const SAME_ORIGIN = { credentials: 'same-origin', cache: 'no-store' };

// The body as JSON, or null when it is empty or not JSON.
export async function readJson(response) {
  try {
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  } catch (e) {
    return null;
  }
}

// GET url as JSON: {ok, status, body, network}. ok needs a 2xx and a JSON body.
export async function getJson(url) {
  let response;
  try {
    response = await fetch(url, { ...SAME_ORIGIN, headers: { Accept: 'application/json' } });
  } catch (e) {
    return { ok: false, network: true, status: 0, body: null };
  }
  const body = await readJson(response);
  return { ok: response.ok && body !== null, network: false, status: response.status, body: body };
}

// GET url as text: {ok, status, text, body, network}; body is a refusal's JSON.
export async function getText(url) {
  try {
    const response = await fetch(url, { ...SAME_ORIGIN, headers: { Accept: 'text/plain' } });
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
