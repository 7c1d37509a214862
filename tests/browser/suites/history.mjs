// The history's code when the log's lists carry only excerpts (at most
// 4 KiB of each attempt's code) and the whole code is the operator's
// (GET /api/logs/log/<id>, 403 to anyone else): a person on another
// machine (a browser whose Host is not a local name) runs a script padded
// past 4 KiB, changes its last line, runs it again; the diff between the
// two attempts shows the change (past the excerpt), and the first attempt
// comes back whole: the page kept the code it sent. In a browser that no
// longer keeps it, the page says plainly that it is not available; a
// short script comes back from its excerpt; the operator's page gets it
// from log/<id>. And the store's bounds (attempts, size) in the page.

import { chromium } from 'playwright-core';
import { watchedPage } from '../harness/browser.mjs';
import { CHROMIUM } from '../harness/config.mjs';
import { cmValue, runAndWait, sessionAttempts, setCode } from '../harness/page.mjs';
import { expect } from '../harness/steps.mjs';

const EXCERPT_BYTES = 4096; // LOGDB_EXCERPT_CODE
const STORE = 'imgsandbox.attempt_code';

// A script of more than EXCERPT_BYTES whose last line is last.
function padded(tag, last) {
  const lines = ['from PIL import Image', 'image = Image.open("/input/image.png")'];
  for (let i = 0; lines.join('\n').length < EXCERPT_BYTES + 600; i++) {
    lines.push(`# ${tag}: padding line ${i}, a comment to take the script past the log's excerpt`);
  }
  lines.push(last);
  return lines.join('\n') + '\n';
}

const LAST_A = 'image.rotate(90, expand=True).save("/output/result.png")';
const LAST_B = 'image.rotate(90, expand=True).save("/output/result.png", optimise=undefined_name)';
const LONG_A = padded('person', LAST_A);
const LONG_B = padded('person', LAST_B);
const SHORT = 'from PIL import Image\nImage.new("RGB", (8, 8), "plum").save("/output/result.png")\n';
const MINE = 'print("typed meanwhile")\n';

function lf(text) {
  return typeof text === 'string' ? text.replace(/\r\n/g, '\n') : text;
}

// The diff view: {del, add, summary, shown, linesShown}.
function shownDiff(page) {
  return page.evaluate(() => ({
    del: [...document.querySelectorAll('#diff del .diff-text')].map((e) => e.textContent),
    add: [...document.querySelectorAll('#diff ins .diff-text')].map((e) => e.textContent),
    summary: document.getElementById('diff-summary').textContent,
    shown: !document.getElementById('diff-box').hidden,
    linesShown: !document.getElementById('diff').hidden
  }));
}

// Waits for the history to list n attempts.
function historyOf(page, n) {
  return page.waitForFunction((k) => document.querySelectorAll('#history-list .history-item').length === k, n,
    { timeout: 15000 });
}

// Clicks attempt i's (1-based) "Changes" and resolves the diff view once it names that attempt.
async function changesOf(page, i) {
  await page.click(`#history-list .history-item:nth-child(${i}) .history-diff`);
  await page.waitForFunction((k) => new RegExp(`→ attempt ${k}: `).test(document.getElementById('diff-summary').textContent), i);
  return shownDiff(page);
}

// Clicks attempt i's (1-based) button in the history.
function bringBack(page, i) {
  return page.click(`#history-list .history-item:nth-child(${i}) .history-button`);
}

// Forgets the code this browser kept, and loads the page again (the tab's session stays).
async function forgetKept(page, n) {
  await page.evaluate((k) => localStorage.removeItem(k), STORE);
  await page.reload();
  await page.waitForSelector('body.editor-codemirror .CodeMirror');
  await historyOf(page, n);
  await setCode(page, MINE);
}

// Two runs of the padded script; the log gives excerpts of both, and log/<id> is not this person's.
async function twoLongRuns(page, server) {
  await setCode(page, LONG_A);
  const a = await runAndWait(page, server);
  await expect(/status-ok/.test(a.cls), `the padded script: ${a.text}`);
  await setCode(page, LONG_B);
  const b = await runAndWait(page, server);
  await expect(/status-fail/.test(b.cls) && /NameError/.test(b.text), `the changed script: ${b.text}`);
  const rows = await sessionAttempts(page);
  await expect(rows.length === 2 && rows.every((r) => r.code_truncated === true && r.code === undefined &&
    new TextEncoder().encode(r.code_excerpt).length <= EXCERPT_BYTES && r.code_bytes > EXCERPT_BYTES),
  `the session's rows: ${JSON.stringify(rows.map((r) => [r.code_truncated, r.code_bytes, typeof r.code]))}`);
  const status = await page.evaluate((id) => fetch(`/api/logs/log/${id}`).then((r) => r.status), rows[0].log_id);
  await expect(status === 403, `log/<id> answers this person ${status}, not 403`);
}

// The history, its diff and "bring back" with the code this page kept.
async function keptByThePage(page) {
  await historyOf(page, 2);
  const d = await changesOf(page, 2);
  await expect(d.shown && d.del.join('|') === LAST_A && d.add.join('|') === LAST_B,
    `the diff: ${JSON.stringify({ del: d.del, add: d.add })}`);
  await expect(d.summary === 'attempt 1 → attempt 2: 1 line added, 1 line removed.', `the diff says "${d.summary}"`);
  await setCode(page, MINE);
  await bringBack(page, 1);
  await page.waitForFunction((want) => document.querySelector('.CodeMirror').CodeMirror.getValue() === want, LONG_A);
}

// Neither kept nor whole in the excerpt, nor the person's to read whole: said plainly.
async function notAvailable(page) {
  await forgetKept(page, 2);
  await bringBack(page, 1);
  await page.waitForFunction(() => /not available here/.test(document.getElementById('editor-note').textContent));
  const note = await page.textContent('#editor-note');
  await expect(/^The code of attempt 1 is not available here: .*operator/.test(note), `the note says "${note}"`);
  await expect((await cmValue(page)) === MINE, 'the editor changed though the code was not available');
  await page.click('#history-list .history-item:nth-child(2) .history-diff');
  await page.waitForFunction(() => /not available here/.test(document.getElementById('diff-summary').textContent));
  const d = await shownDiff(page);
  await expect(d.shown && !d.linesShown, `the diff view: ${JSON.stringify(d)}`);
}

// A script shorter than the excerpt comes back from it, with nothing kept.
async function fromExcerpt(page, server) {
  await setCode(page, SHORT);
  const s = await runAndWait(page, server);
  await expect(/status-ok/.test(s.cls), `the short script: ${s.text}`);
  const last = (await sessionAttempts(page)).pop();
  await expect(last.code_truncated === false && lf(last.code_excerpt) === SHORT, 'the short script\'s excerpt is not whole');
  await forgetKept(page, 3);
  await bringBack(page, 3);
  await page.waitForFunction((want) => document.querySelector('.CodeMirror').CodeMirror.getValue() === want, SHORT);
}

// The whole walk in a browser of its own whose Host is operator.test (mapped to loopback).
async function notOperator(t) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--host-resolver-rules=MAP operator.test 127.0.0.1', '--disable-features=HttpsUpgrades']
  });
  const problems = [];
  try {
    const context = await browser.newContext({ baseURL: `http://operator.test:${t.service.port}`, viewport: { width: 1400, height: 1000 } });
    // Console errors are not counted: the browser writes log/<id>'s 403 there.
    const page = await watchedPage(context, problems, false);
    await page.goto('/');
    await page.waitForSelector('body.editor-codemirror .CodeMirror');
    await twoLongRuns(page, t.server);
    await keptByThePage(page);
    await notAvailable(page);
    await fromExcerpt(page, t.server);
    await page.screenshot({ path: `${t.artDir}/history-not-operator.png`, fullPage: true });
    await expect(problems.length === 0, problems.slice(0, 5).join(' | '));
  } finally {
    await browser.close();
  }
}

// The operator's page: a padded script's code, no longer kept here, comes
// from log/<id>. In a session of its own: the failure of the one before
// stays unfixed, for the dashboard's steps.
async function operatorWhole(t) {
  const { page, server } = t;
  await page.click('#new-session');
  await setCode(page, LONG_A);
  const s = await runAndWait(page, server);
  await expect(/status-ok/.test(s.cls), `the padded script: ${s.text}`);
  const n = (await sessionAttempts(page)).length;
  await page.evaluate((k) => localStorage.removeItem(k), STORE);
  await page.click('#history-refresh');
  await historyOf(page, n);
  await setCode(page, MINE);
  await bringBack(page, n);
  await page.waitForFunction((want) => document.querySelector('.CodeMirror').CodeMirror.getValue() === want, LONG_A);
}

// The store in the page (static/js/playground/attempt-code.js): the last
// MAX_ATTEMPTS attempts, a script kept once however often it ran, at most
// MAX_CHARS in all, an attempt found only with its own session.
async function storeBounds(page) {
  const got = await page.evaluate(async (key) => {
    const m = await import('/js/playground/attempt-code.js');
    const saved = localStorage.getItem(key);
    try {
      localStorage.removeItem(key);
      const n = m.MAX_ATTEMPTS + 10;
      for (let i = 1; i <= n; i++) m.keepAttemptCode(900000 + i, 'bounds', `print(${i})\n`);
      const many = [m.keptFigures().attempts, m.keptCode(900001, 'bounds'), m.keptCode(900010, 'bounds'),
        m.keptCode(900000 + n, 'bounds'), m.keptCode(900000 + n, 'other')];
      localStorage.removeItem(key);
      for (let i = 1; i <= 5; i++) m.keepAttemptCode(910000 + i, 'same', 'x'.repeat(1000));
      const same = m.keptFigures();
      localStorage.removeItem(key);
      const big = Math.floor(m.MAX_CHARS / 3) + 1;
      for (let i = 1; i <= 4; i++) m.keepAttemptCode(920000 + i, 'big', String(i).repeat(big));
      const size = [m.keptFigures(), m.keptCode(920001, 'big'), (m.keptCode(920004, 'big') || '').length, m.MAX_CHARS, big];
      return { many, same, size };
    } finally {
      if (saved == null) localStorage.removeItem(key);
      else localStorage.setItem(key, saved);
    }
  }, STORE);
  await expect(JSON.stringify(got.many) === JSON.stringify([50, null, null, 'print(60)\n', null]), `by count: ${JSON.stringify(got.many)}`);
  await expect(got.same.attempts === 5 && got.same.chars === 1000, `one script, five attempts: ${JSON.stringify(got.same)}`);
  const [fig, first, lastLen, max, big] = got.size;
  await expect(fig.attempts === 2 && fig.chars <= max && first === null && lastLen === big, `by size: ${JSON.stringify(got.size.slice(0, 1))}`);
}

export async function historySuite(t) {
  await t.check(null, 'history-store-bounds', () => storeBounds(t.page));
  await t.check(null, 'history-long-code-not-operator', () => notOperator(t));
  await t.check(t.page, 'history-long-code-operator', () => operatorWhole(t));
}
