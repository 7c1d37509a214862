// The dashboard's panel per AI model (GET /api/logs/models): empty while
// no run had a model; then, after runs posted with ai_model, ai_lessons
// (1, 0 or not said), session_id and previous_attempt_id, a card per
// model whose every figure (first-attempt success, attempts until
// success, fix rate, runs and sessions; all runs, with the lessons,
// without them) is the server's, and a sentence that compares with and
// without.

import { pageJson } from '../harness/page.mjs';
import { aiToken, newSession } from '../harness/signed.mjs';
import { expect, log } from '../harness/steps.mjs';

const MODEL_A = 'panel-model-a';
const MODEL_B = 'panel-model-b';
const OK = 'from PIL import Image\nImage.new("RGB", (8, 8), "gold").save("/output/result.png")\n';
const BAD = 'from PIL import Image\nImage.new("RGB", (8, 8)).save(undefined_name)\n';

// POSTs a run to the service (fieldsOf(): the form's fields, beside the
// sample image, made afresh for each try); a 429 (every slot or the
// client's share busy) is tried again after its Retry-After, a few times.
// Resolves the answer's JSON.
async function postRun(t, fieldsOf) {
  for (let attempt = 1; ; attempt++) {
    const fields = fieldsOf();
    const form = new FormData();
    form.append('use_sample', '1');
    for (const [k, v] of Object.entries(fields)) if (v != null) form.append(k, String(v));
    const r = await fetch(`${t.service.base}/run`, { method: 'POST', body: form });
    const body = await r.json().catch(() => null);
    if (r.status !== 429 || attempt >= 6) {
      await expect(r.status === 200 && body && body.log_id, `POST /run: HTTP ${r.status} ${JSON.stringify(body)}`);
      return body;
    }
    log(t.server, `note: POST /run got 429 (host load); trying again in ${r.headers.get('Retry-After') || 2} s`);
    await new Promise((res) => setTimeout(res, Math.min(10, Number(r.headers.get('Retry-After')) || 2) * 1000));
  }
}

// A session of runs by model (lessons: 1, 0 or null) with these scripts in
// order, each after the one before (a fix names the failure it fixes), as
// the page sends what the assistant wrote: with the token the service
// gives for that code (made here with its key: no model to ask).
async function session(t, model, lessons, scripts) {
  let sessionId = null;
  let previous = null;
  for (const code of scripts) {
    // A refusal is logged in its session: a first run refused (429) is
    // tried again in a session of its own, as the page's next one would be.
    const first = sessionId == null;
    const body = await postRun(t, () => {
      if (first) sessionId = newSession(t.service);
      const token = aiToken(t.service, sessionId, model, lessons !== 0, code);
      return { code, ai_model: model, ai_lessons: lessons, ai_token: token, session_id: sessionId, previous_attempt_id: previous };
    });
    sessionId = body.session_id;
    previous = body.status === 'success' ? null : body.log_id;
  }
}

// The panel's numbers, per model card, part and figure: {model: {part: {figure: [numbers]}}}.
function shownModels(page) {
  return page.evaluate(() => {
    const out = {};
    for (const card of document.querySelectorAll('#models .model-card')) {
      const parts = {};
      for (const tr of card.querySelectorAll('tbody tr')) {
        for (const td of tr.querySelectorAll('td')) {
          parts[td.dataset.part] = parts[td.dataset.part] || {};
          parts[td.dataset.part][tr.dataset.figure] = [...td.children].flatMap((s) => s.textContent.match(/\d+(?:\.\d+)?/g) || []).map(Number);
        }
      }
      out[card.dataset.model] = { parts, verdict: card.querySelector('.model-verdict').textContent };
    }
    return out;
  });
}

// The numbers a part p of the API's answer shows, figure by figure.
function want(p) {
  const a = p.attempts_to_success || {};
  const r2 = (v) => Math.round(v * 100) / 100;
  return {
    first: [...(p.sessions ? [Math.round(p.first_attempt_success_rate * 100)] : []), p.first_attempt_successes, p.sessions],
    attempts: [...(a.median != null ? [r2(a.median)] : []), ...(a.mean != null ? [r2(a.mean)] : []), p.sessions_succeeded],
    fix: [...(p.failures ? [Math.round(p.fix_rate * 100)] : []), p.failures_fixed, p.failures],
    runs: [p.runs, p.sessions]
  };
}

async function modelsEmpty(page) {
  await page.waitForSelector('#models-empty:not([hidden])');
  const text = await page.textContent('#models-empty');
  await expect(/^No run had a model yet/.test(text), `the empty panel says "${text}"`);
  await expect(await page.locator('#models .model-card').count() === 0, 'model cards without any model');
}

// The API's figures for the runs posted here, as the runs make them.
function expectApi(a, b) {
  const w = a.by_lessons.with;
  const wo = a.by_lessons.without;
  const got = [a.runs, a.sessions, a.first_attempt_successes, w.runs, w.sessions, w.first_attempt_success_rate,
    w.failures_fixed, w.attempts_to_success.median, wo.runs, wo.sessions, wo.failures, wo.attempts_to_success.median,
    b.by_lessons.unknown.runs, b.by_lessons.with.runs];
  return expect(JSON.stringify(got) === JSON.stringify([5, 3, 1, 3, 2, 0.5, 1, 1.5, 2, 1, 2, null, 1, 0]),
    `the server's figures: ${JSON.stringify(got)}`);
}

async function modelsShown(t) {
  const { page } = t;
  // With the lessons: a failure fixed on the second attempt, and a first-time success;
  // without them: two failures; a model that did not say: one success.
  await session(t, MODEL_A, 1, [BAD, OK]);
  await session(t, MODEL_A, 1, [OK]);
  await session(t, MODEL_A, 0, [BAD, BAD]);
  await session(t, MODEL_B, null, [OK]);
  await page.goto('/dashboard.html');
  await page.waitForSelector(`#models .model-card[data-model="${MODEL_A}"]`, { timeout: 15000 });
  const api = await pageJson(page, '/api/logs/models?limit=20');
  const byName = Object.fromEntries(api.models.map((m) => [m.ai_model, m]));
  await expectApi(byName[MODEL_A], byName[MODEL_B]);
  const shown = await shownModels(page);
  await expect(JSON.stringify(Object.keys(shown)) === JSON.stringify(api.models.map((m) => m.ai_model)),
    `the cards: ${Object.keys(shown)}, the server's models: ${api.models.map((m) => m.ai_model)}`);
  for (const m of api.models) {
    const parts = { all: m, with: m.by_lessons.with, without: m.by_lessons.without };
    if (m.by_lessons.unknown.runs > 0) parts.unknown = m.by_lessons.unknown;
    const wanted = Object.fromEntries(Object.entries(parts).map(([k, p]) => [k, want(p)]));
    await expect(JSON.stringify(shown[m.ai_model].parts) === JSON.stringify(wanted),
      `${m.ai_model}: the panel shows ${JSON.stringify(shown[m.ai_model].parts)}, the server ${JSON.stringify(wanted)}`);
  }
  const verdict = shown[MODEL_A].verdict;
  await expect(verdict.startsWith('First attempts succeeded 50% of the time with the lessons and 0% without (+50 points).') &&
    /too few/.test(verdict), `the comparison says "${verdict}"`);
  await expect(/^No session of this model says whether/.test(shown[MODEL_B].verdict), `${MODEL_B}: "${shown[MODEL_B].verdict}"`);
  await page.screenshot({ path: `${t.artDir}/dashboard-models.png`, fullPage: true });
}

// The card of model (the dashboard is open) shows its runs, with and
// without the lessons, as the server counts them.
export async function expectModelCard(page, model) {
  await page.waitForSelector(`#models .model-card[data-model="${model}"]`, { timeout: 15000 });
  const m = (await pageJson(page, '/api/logs/models?limit=20')).models.find((x) => x.ai_model === model);
  const shown = (await shownModels(page))[model].parts;
  const runs = ['all', 'with', 'without'].map((k) => shown[k].runs[0]);
  const api = [m.runs, m.by_lessons.with.runs, m.by_lessons.without.runs];
  await expect(m.runs > 0 && JSON.stringify(runs) === JSON.stringify(api), `${model}'s runs: ${runs}, the server's ${api}`);
}

// Before any run with a model (the dashboard is open): the empty state.
export async function modelsEmptySuite(t) {
  await t.check(t.page, 'dashboard-models-empty', () => modelsEmpty(t.page));
}

// Runs with models posted, then the panel; the page goes back to the playground.
export async function modelsSuite(t) {
  await t.check(t.page, 'dashboard-models', async () => {
    try {
      await modelsShown(t);
    } finally {
      await t.page.goto('/');
    }
  });
}
