// Helpers that work the playground the way a person does.

import { RUN_TIMEOUT_MS } from './config.mjs';
import { log } from './steps.mjs';

export function cmValue(page) {
  return page.evaluate(() => document.querySelector('.CodeMirror').CodeMirror.getValue());
}

export function setCode(page, text) {
  return page.evaluate((t) => document.querySelector('.CodeMirror').CodeMirror.setValue(t), text);
}

// Presses Run (or Ctrl+Enter with how = 'keyboard') and waits for the
// answer; during() runs while it runs. Resolves the status line {cls, text}.
// Retries a run that the machine's load made time out or that found every
// slot busy (said so in the output, and not what want matches): that is the
// host, not the page.
export async function runAndWait(page, server, how = 'button', want = null, during = null) {
  for (let attempt = 1; ; attempt++) {
    if (how === 'keyboard') {
      await page.evaluate(() => document.querySelector('.CodeMirror').CodeMirror.focus());
      await page.keyboard.press('Control+Enter');
    } else {
      await page.click('#run');
    }
    await page.waitForSelector('#run.running', { timeout: 5000 });
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

// GET path of the service as JSON, from the page (same origin, loopback).
export function pageJson(page, path) {
  return page.evaluate((p) => fetch(p, { cache: 'no-store' }).then((r) => r.json()), path);
}
