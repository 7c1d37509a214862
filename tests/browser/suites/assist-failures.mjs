// The assistant's failures as a person meets them, each said plainly with
// what to do, and nothing typed lost (the description and the script stay):
// an answer that holds no script, a model that is down, one slower than the
// service waits for, and (behind the limits service, which has none) no
// model configured. Then the dashboard from a browser whose Host is not a
// local name: the server's 403 is the page, not broken panels.
//
// Each of these runs in a page of its own: the browser writes every 4xx and
// 5xx answer to the console, which the watched page counts as a problem.

import { chromium } from 'playwright-core';
import { CHROMIUM } from '../harness/config.mjs';
import { cmValue, setCode } from '../harness/page.mjs';
import { expect } from '../harness/steps.mjs';

export const AI_WAIT_MS = 8000; // how long the assistant's service waits for the model

const PROMPT = 'Make the image pink';
const SCRIPT = 'print("my own script, kept")\n';

async function freshPage(context) {
  const page = await context.newPage();
  await page.goto('/');
  await page.waitForSelector('body.editor-codemirror .CodeMirror');
  await setCode(page, SCRIPT);
  await page.fill('#assist-prompt', PROMPT);
  return page;
}

// Presses Generate and resolves what the refusal says: {title, message, hint}.
async function generateRefused(page) {
  await page.click('#generate');
  await page.waitForSelector('#assist-error:not([hidden])', { timeout: 30000 });
  await page.waitForFunction(() => !document.getElementById('assist-panel').classList.contains('busy'));
  return page.evaluate(() => ({
    title: document.getElementById('assist-error-title').textContent,
    message: document.getElementById('assist-error-message').textContent,
    hint: document.getElementById('assist-error-hint').textContent
  }));
}

// The refusal said is want (title and message patterns), and nothing typed was lost.
async function expectRefusal(page, said, want) {
  await expect(want.title.test(said.title) && want.message.test(said.message),
    `${want.name}: "${said.title}" / "${said.message}"`);
  await expect(/kept as they were/.test(said.hint), `${want.name}: the hint says ${said.hint}`);
  await expect((await page.inputValue('#assist-prompt')) === PROMPT, `${want.name}: the description was lost`);
  await expect((await cmValue(page)) === SCRIPT, `${want.name}: the script was replaced`);
  await expect(await page.isHidden('#fix-bar') && await page.isHidden('#assist-stop'), `${want.name}: still busy`);
}

const CASES = [
  {
    name: 'no script', replies: [{ content: 'I would rather talk about colours than write code.' }],
    title: /^The model’s answer was not a script\.$/, message: /holds no Python script.*rather talk about colours/
  },
  {
    name: 'down', replies: [{ status: 500, body: 'the model is overloaded' }],
    title: /^The model did not answer\.$/, message: /500/
  },
  {
    name: 'slow', replies: [{ content: '```python\nprint(1)\n```', delay_s: AI_WAIT_MS / 1000 + 2 }],
    title: /^The model did not answer\.$/, message: /.+/
  }
];

export async function modelFailures(t) {
  const page = await freshPage(t.context);
  try {
    for (const c of CASES) {
      await t.standin.load(c.replies);
      await expectRefusal(page, await generateRefused(page), c);
      await expect((await t.standin.requests()).length === 1, `${c.name}: the model was not asked once`);
    }
  } finally {
    await page.close();
  }
}

// Behind a service with no model: the page says so, and how to set one.
export async function noModel(t) {
  const page = await freshPage(t.context);
  try {
    const said = await generateRefused(page);
    await expectRefusal(page, said, { name: 'no model', title: /^No model is configured on this server\.$/, message: /IMGSANDBOX_AI_URL/ });
    await expect(/IMGSANDBOX_AI_URL/.test(said.hint), `the hint says ${said.hint}`);
  } finally {
    await page.close();
  }
}

// A browser of its own whose requests name the host operator.test (mapped
// to the loopback address): a loopback client, but not a local Host.
export async function dashboardNotLocal(t) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--host-resolver-rules=MAP operator.test 127.0.0.1', '--disable-features=HttpsUpgrades']
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://operator.test:${t.service.port}/dashboard.html`);
    await page.waitForSelector('#access-panel:not([hidden])', { timeout: 15000 });
    const shown = await page.evaluate(() => ({
      heading: document.getElementById('access-heading').textContent,
      message: document.getElementById('access-message').textContent,
      tokenField: !document.getElementById('token-form').hidden,
      panels: [...document.querySelectorAll('.kpis, .dash-row')].filter((e) => e.offsetParent !== null).length,
      updated: document.getElementById('updated').textContent
    }));
    await expect(shown.heading === 'The log is the operator’s' && /127\.0\.0\.1/.test(shown.message) &&
      /SSH/.test(shown.message), `the page says ${JSON.stringify(shown)}`);
    await expect(!shown.tokenField && shown.panels === 0 && /^Not loaded/.test(shown.updated),
      `the page shows ${JSON.stringify(shown)}`);
    await page.screenshot({ path: `${t.artDir}/assist-dashboard-not-local.png`, fullPage: true });
  } finally {
    await browser.close();
  }
}
