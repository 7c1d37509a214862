// Helpers that work the playground the way a person does.

import { RUN_TIMEOUT_MS } from './config.mjs';
import { log } from './steps.mjs';

export function cmValue(page) {
  return page.evaluate(() => document.querySelector('.CodeMirror').CodeMirror.getValue());
}

export function setCode(page, text) {
  return page.evaluate((t) => document.querySelector('.CodeMirror').CodeMirror.setValue(t), text);
}

// Notes in the page when the Run button next shows a run in progress
// (window.__runStarted), however short the run: a run that ends before a
// look at the page would see it running is seen too. What the page showed
// at that moment is kept in window.__runSnapshot (see runSnapshot).
function armRunWatch(page) {
  return page.evaluate(() => {
    const run = document.getElementById('run');
    window.__runStarted = false;
    window.__runSnapshot = null;
    if (window.__runWatch) window.__runWatch.disconnect();
    window.__runWatch = new MutationObserver((records) => {
      if (!window.__runStarted && run.classList.contains('running')) {
        const cm = document.querySelector('.CodeMirror');
        window.__runSnapshot = {
          label: document.getElementById('run-label').textContent,
          busy: run.getAttribute('aria-disabled'),
          stopShown: !document.getElementById('stop').hidden,
          progress: document.getElementById('progress-label').textContent,
          readOnly: cm ? cm.CodeMirror.getOption('readOnly') : null
        };
      }
      if (run.classList.contains('running') || records.some((r) => /\brunning\b/.test(r.oldValue || ''))) {
        window.__runStarted = true;
      }
    });
    window.__runWatch.observe(run, { attributes: true, attributeFilter: ['class'], attributeOldValue: true });
  });
}

// What the page showed as the last run began: {label, busy, stopShown, progress, readOnly}.
export function runSnapshot(page) {
  return page.evaluate(() => window.__runSnapshot);
}

// Waits for the run to show; when it does not, says what the page showed
// instead (once, under make test's load, a click on Run started nothing in
// 5 s and the page looked idle: the next time says more).
async function runStarted(page) {
  try {
    await page.waitForFunction(() => window.__runStarted === true, null, { timeout: 5000 });
  } catch (e) {
    const seen = await page.evaluate(() => ({
      status: document.getElementById('status').textContent,
      runClass: document.getElementById('run').className,
      ariaDisabled: document.getElementById('run').getAttribute('aria-disabled'),
      focused: document.activeElement ? document.activeElement.id || document.activeElement.tagName : null,
      scrollY: window.scrollY
    })).catch(() => null);
    throw new Error(`no run began within 5 s of pressing Run; the page: ${JSON.stringify(seen)}`);
  }
}

// Presses Run (or Ctrl+Enter with how = 'keyboard') and waits for the
// answer; during() runs while it runs. Resolves the status line {cls, text}.
// Retries a run that the machine's load made time out or that found every
// slot busy (said so in the output, and not what want matches): that is the
// host, not the page.
export async function runAndWait(page, server, how = 'button', want = null, during = null) {
  for (let attempt = 1; ; attempt++) {
    await armRunWatch(page);
    if (how === 'keyboard') {
      await page.evaluate(() => document.querySelector('.CodeMirror').CodeMirror.focus());
      await page.keyboard.press('Control+Enter');
    } else {
      await page.click('#run');
    }
    await runStarted(page);
    if (during) await during();
    await page.waitForSelector('#run:not(.running)', { timeout: RUN_TIMEOUT_MS });
    const status = await statusLine(page);
    const loadProblem = /time limit|busy/i.test(status.text) && !(want && want.test(status.text));
    if (!loadProblem || attempt >= 3) return status;
    log(server, `note: the run ended with "${status.text}" (host load); running it again`);
  }
}

// The status line under the result heading: {cls, text}.
export function statusLine(page) {
  return page.evaluate(() => ({
    cls: document.getElementById('status').className,
    text: document.getElementById('status').textContent
  }));
}

// GET path of the service as JSON, from the page (same origin, loopback),
// with the operator's token when the tab holds one (as the page sends it).
export function pageJson(page, path) {
  return page.evaluate((p) => {
    const token = sessionStorage.getItem('imgsandbox.logs_token');
    return fetch(p, { cache: 'no-store', headers: token ? { Authorization: 'Bearer ' + token } : {} }).then((r) => r.json());
  }, path);
}

// The attempts of the tab's session (GET /api/logs/session/<id>), in order.
export async function sessionAttempts(page) {
  const session = await page.evaluate(() => sessionStorage.getItem('imgsandbox.session_id'));
  if (!session) return [];
  const body = await pageJson(page, '/api/logs/session/' + encodeURIComponent(session));
  return Array.isArray(body.attempts) ? body.attempts : [];
}

// Presses Run and resolves once the page shows the run in progress.
export async function startRun(page) {
  await armRunWatch(page);
  await page.click('#run');
  await runStarted(page);
}

// Resolves the status line once the run in progress ended (within ms).
export async function runEnded(page, ms = RUN_TIMEOUT_MS) {
  await page.waitForSelector('#run:not(.running)', { timeout: ms });
  return statusLine(page);
}

// The steps of the last run as the page lists them: [{phase, text, current}].
export function phaseSteps(page) {
  return page.$$eval('#phases li', (ls) => ls.map((l) => ({
    phase: l.dataset.phase, text: l.textContent, current: l.getAttribute('aria-current') === 'step'
  })));
}
