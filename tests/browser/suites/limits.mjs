// The page's limits are the server's (GET /api/limits), not a copy: behind a
// service started with small IMGSANDBOX_* limits, the page says them and
// refuses what is over them before sending anything; without /api/limits it
// still runs and shows the server's refusal. With its one sandbox slot taken,
// a second run is shown waiting for it, then refused as busy (a refusal that
// comes after the live stream began). With no model configured, Generate
// says so and how to set one. The log is read with a token here
// (IMGSANDBOX_LOGS_ACCESS=token): the dashboard asks for it, refuses a wrong
// one, and with the right one its figures are the summary's even with more
// failures in the log than a page holds.

import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS } from '../harness/config.mjs';
import { phaseSteps, runAndWait, runEnded, setCode, startRun, statusLine } from '../harness/page.mjs';
import { makePng } from '../harness/png.mjs';
import { expect } from '../harness/steps.mjs';
import { noModel } from './assist-failures.mjs';
import { expectSummaryFigures } from './dashboard.mjs';

// The operator's token of this service, in the file the service reads it from.
const LOGS_TOKEN = `browser-tests-${process.pid}-${Date.now().toString(36)}`;
const TOKEN_FILE = path.join(ARTIFACTS, 'logs-token');
fs.mkdirSync(ARTIFACTS, { recursive: true });
// Readable by the service's user (the responders run as imgsandbox when the
// tests run as root): an operator gives it the token that way.
fs.writeFileSync(TOKEN_FILE, `${LOGS_TOKEN}\n`, { mode: 0o644 });
fs.chmodSync(TOKEN_FILE, 0o644);

// The service's settings for this suite, and how the page should say them.
export const LIMITS_ENV = {
  IMGSANDBOX_CODE_BYTES: '200',
  IMGSANDBOX_PARAMS_BYTES: '64',
  IMGSANDBOX_IMAGE_BYTES: '65536',
  IMGSANDBOX_IMAGE_PIXELS: '10000',
  // One run at a time, and a short wait for it: a second run is refused as busy.
  IMGSANDBOX_SLOTS: '1',
  IMGSANDBOX_SLOT_WAIT_MS: '1500',
  IMGSANDBOX_LOGS_ACCESS: 'token',
  IMGSANDBOX_LOGS_TOKEN_FILE: TOKEN_FILE,
  // A roomy share for the one client these tests are: the flood below is refused for its size, not its rate.
  IMGSANDBOX_CLIENT_INFLIGHT: '1024',
  IMGSANDBOX_CLIENT_RUNS_PER_MIN: '1000000',
  IMGSANDBOX_CLIENT_BURST: '100000'
};
const LONG_CODE = `print("${'x'.repeat(300)}")\n`;
const SHORT_CODE = 'from PIL import Image\nImage.open("/input/image.png").save("/output/result.png")\n';
const FLOOD = 510; // refused requests: more failures than a page of the log holds (500)

// Counts the page's POST /run requests: returns () => how many so far.
function countRuns(page) {
  let n = 0;
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/run') n += 1;
  });
  return () => n;
}

// The files this suite chooses: over the pixel limit, over the byte limit, within both.
function writeImages(artDir) {
  const files = {
    manyPixels: path.join(artDir, 'limits-200x150.png'),
    manyBytes: path.join(artDir, 'limits-64x48-padded.png'),
    small: path.join(artDir, 'limits-64x48.png')
  };
  fs.writeFileSync(files.manyPixels, makePng(200, 150));
  fs.writeFileSync(files.manyBytes, makePng(64, 48, 100000));
  fs.writeFileSync(files.small, makePng(64, 48));
  return files;
}

async function refusesOverLimits(page, runs, images) {
  await page.goto('/');
  await page.waitForSelector('body.editor-codemirror .CodeMirror');
  await page.waitForFunction(() => document.getElementById('image-limit-bytes').textContent === '64 KiB' &&
    document.getElementById('image-limit-pixels').textContent === '0.01 megapixels', null, { timeout: 10000 });
  await setCode(page, LONG_CODE);
  await page.click('#run');
  await page.waitForSelector('#status.status-refused');
  const status = await statusLine(page);
  await expect(/status-refused/.test(status.cls) && /The code is too long \(\d+ bytes\); the limit is 200 bytes\./.test(status.text),
    `a script over the limit: ${status.text}`);
  await page.fill('#params', `{"text": "${'y'.repeat(80)}"}`);
  await expect(/the limit is 64 bytes\./.test(await page.textContent('#params-error')), 'parameters over the limit not refused');
  await page.fill('#params', '');
  await page.setInputFiles('#image-input', images.manyPixels);
  await page.waitForFunction(() => /200 × 150 pixels \(0\.03 megapixels\); the limit is 0\.01 megapixels\./
    .test(document.getElementById('image-error').textContent));
  await page.setInputFiles('#image-input', images.manyBytes);
  await page.waitForFunction(() => /is \d+ KiB; the limit is 64 KiB\./.test(document.getElementById('image-error').textContent));
  await expect(runs() === 0, `${runs()} request(s) sent for what the page should have refused`);
}

async function runsWithinLimits(t, runs, images) {
  const { page, server } = t;
  await page.setInputFiles('#image-input', images.small);
  await page.waitForFunction(() => /64 × 48 px/.test(document.getElementById('image-info').textContent));
  await setCode(page, SHORT_CODE);
  const status = await runAndWait(page, server);
  await expect(/status-ok/.test(status.cls), `a script within the limits did not run: ${status.text}`);
  await expect(runs() >= 1, 'the run was not sent');
}

// Without /api/limits the page does not hold the run back: the server refuses it, in words.
async function runsWithoutLimits(t) {
  const page = await t.context.newPage();
  try {
    const runs = countRuns(page);
    await page.route('**/api/limits', (route) => route.abort());
    await page.goto('/');
    await page.waitForSelector('body.editor-codemirror .CodeMirror');
    await setCode(page, LONG_CODE);
    const [answer] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/run'),
      page.click('#run')
    ]);
    await expect(answer.status() === 413, `the server answered HTTP ${answer.status()}`);
    await page.waitForSelector('#status.status-refused');
    await expect(runs() === 1, `${runs()} request(s) sent`);
    const hint = await page.textContent('#status-hint');
    await expect(/^Use a smaller image or shorter code or parameters\.$/.test(hint), `the hint says ${hint}`);
  } finally {
    await page.close();
  }
}

const SLOT_HOLDER = 'import time\nprint("holding", flush=True)\ntime.sleep(15)\n';

// While the one slot is taken (by t.page's run), a run from a second tab
// waits for it, is refused as busy, and says so; then Stop frees the slot.
async function busyWhileQueued(t) {
  const { page, context } = t;
  await page.fill('#params', '');
  await setCode(page, SLOT_HOLDER);
  await startRun(page);
  await page.waitForFunction(() => document.getElementById('stdout').textContent.includes('holding'), null,
    { timeout: 60000 });
  const other = await context.newPage();
  try {
    await other.goto('/');
    await other.waitForSelector('body.editor-codemirror .CodeMirror');
    await setCode(other, 'print("second tab")\n');
    await startRun(other);
    const status = await runEnded(other, 30000);
    await expect(/status-refused/.test(status.cls) && /busy/i.test(status.text), `the second run: ${status.text}`);
    await expect(/^Try again/.test(await other.textContent('#status-hint')), 'no hint to try again');
    const steps = (await phaseSteps(other)).map((s) => s.phase + ':' + s.text);
    await expect(steps.some((s) => /^queued:Waiting for a sandbox/.test(s)) && /^end:Refused$/.test(steps[steps.length - 1]),
      `the second run's steps: ${steps}`);
  } finally {
    await other.close();
  }
  await page.click('#stop');
  const status = await runEnded(page, 20000);
  await expect(/^Cancelled/.test(status.text), `the first run after Stop: ${status.text}`);
}

// Sends FLOOD requests the server refuses (code over its limit), eight at a time.
async function floodRefusals(base) {
  const one = async () => {
    const form = new FormData();
    form.append('code', LONG_CODE);
    const r = await fetch(`${base}/run`, { method: 'POST', body: form });
    await r.arrayBuffer();
    if (r.status !== 413) throw new Error(`a refused request got HTTP ${r.status}`);
  };
  for (let sent = 0; sent < FLOOD; sent += 8) {
    await Promise.all(Array.from({ length: Math.min(8, FLOOD - sent) }, one));
  }
}

// The recent chart's table: {runs, failed} added up.
function recentTable(page) {
  return page.$$eval('#trend-table tbody tr', (trs) => trs.reduce((sum, tr) => ({
    runs: sum.runs + Number(tr.children[1].textContent), failed: sum.failed + Number(tr.children[2].textContent)
  }), { runs: 0, failed: 0 }));
}

// The dashboard asks for the operator's token, says a wrong one was not
// taken, and opens with the right one (kept for the tab only).
async function tokenAsked(page) {
  await page.goto('/dashboard.html');
  await page.waitForSelector('#token-form:not([hidden])', { timeout: 15000 });
  const message = await page.textContent('#access-message');
  await expect(/Authorization: Bearer/.test(message) && await page.isHidden('#kpis'), `the dashboard says ${message}`);
  await page.fill('#token-input', 'not-the-token-0123456789');
  await page.click('#token-form button[type="submit"]');
  await page.waitForFunction(() => /did not accept that token/.test(document.getElementById('token-error').textContent));
  await expect(await page.evaluate(() => sessionStorage.getItem('imgsandbox.logs_token')) === null, 'a refused token was kept');
  await page.fill('#token-input', LOGS_TOKEN);
  await page.click('#token-form button[type="submit"]');
  await page.waitForSelector('#access-panel', { state: 'hidden', timeout: 15000 });
  await expect(await page.isVisible('#forget-token'), 'no way to forget the token');
}

// In a page of its own: the browser writes the 403s to the console, which
// the watched page would count as problems.
async function figuresWhenPagesCut(t) {
  const page = await t.context.newPage();
  try {
    await floodRefusals(t.service.base);
    await tokenAsked(page);
    await figuresOfTheSummary(page);
  } finally {
    await page.screenshot({ path: path.join(t.artDir, 'limits-dashboard-with-token.png'), fullPage: true }).catch(() => {});
    await page.close();
  }
}

async function figuresOfTheSummary(page) {
  await page.waitForSelector('#trend-chart svg .bar-fail', { timeout: 15000 });
  const s = await expectSummaryFigures(page);
  await expect(s.failures > 500 && s.successes >= 1, `the log holds ${s.successes}/${s.failures}`);
  await expect(await page.getAttribute('#trend-chart', 'data-complete') === 'false', 'the recent pages are not marked cut');
  // The recent view draws only the stretch both pages cover: the last 500 failures, no older success.
  const table = await recentTable(page);
  await expect(table.runs === 500 && table.failed === 500, `the recent chart holds ${JSON.stringify(table)}`);
}

export async function limitsSuite(t) {
  const runs = countRuns(t.page);
  const images = writeImages(t.artDir);
  await t.check(t.page, 'limits-from-server', () => refusesOverLimits(t.page, runs, images));
  await t.check(t.page, 'limits-run-within', () => runsWithinLimits(t, runs, images));
  await t.check(null, 'limits-unavailable', () => runsWithoutLimits(t));
  await t.check(t.page, 'busy-while-queued', () => busyWhileQueued(t));
  await t.check(null, 'assist-no-model', () => noModel(t));
  await t.check(null, 'dashboard-token-and-figures-when-pages-cut', () => figuresWhenPagesCut(t));
}
