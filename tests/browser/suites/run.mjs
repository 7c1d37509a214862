// Running the script: the result, a failure with its line marked, the fix,
// the session's history that links them, and a new session; then the
// history's code when the log gives only excerpts (history.mjs).

import { cmValue, runAndWait, runSnapshot, setCode } from '../harness/page.mjs';
import { expect } from '../harness/steps.mjs';
import { BREAK_LINE, BREAK_TEXT, SCRIPT_TEXT } from './editor.mjs';
import { historySuite } from './history.mjs';

async function result(t) {
  const { page, server } = t;
  const status = await runAndWait(page, server);
  // As it began: the button said so, Stop was there, the editor stayed usable.
  const seen = await runSnapshot(page);
  await expect(seen && seen.label === 'Running…' && seen.busy === 'true' && seen.stopShown && seen.readOnly === false,
    `while running: ${JSON.stringify(seen)}`);
  await expect(/status-ok/.test(status.cls), `the run did not succeed: ${status.text}`);
  await page.waitForFunction(() => document.getElementById('result-img').naturalWidth > 0);
  const size = await page.evaluate(() => [document.getElementById('result-img').naturalWidth,
    document.getElementById('result-img').naturalHeight]);
  await expect(size[0] === 100 && size[1] === 75, `the result image is ${size[0]}x${size[1]}, not 100x75`);
  await expect(/100 × 75 px/.test(await page.textContent('#result-dims')), 'no output dimensions');
  await expect(/flipped \(200, 150\) -> \(100, 75\)/.test(await page.textContent('#stdout')), 'stdout not shown');
  const href = await page.getAttribute('#download', 'href');
  await expect(/^\/outputs\/[0-9a-f]{32}\/result\.png$/.test(href || ''), `download link ${href}`);
  await expect(/Last run took/.test(await page.textContent('#progress')), 'no elapsed time after the run');
}

async function errorLine(t) {
  const { page, server } = t;
  await page.evaluate((n) => {
    const cm = document.querySelector('.CodeMirror').CodeMirror;
    cm.focus();
    cm.setCursor({ line: n - 1, ch: cm.getLine(n - 1).length });
  }, BREAK_LINE);
  await page.keyboard.type(BREAK_TEXT);
  const status = await runAndWait(page, server, 'keyboard');
  await expect(/status-fail/.test(status.cls), `the broken script did not fail: ${status.text}`);
  await expect(/NameError on line 4/.test(status.text), `the status says ${status.text}`);
  await expect(/NameError: name 'missing_scale' is not defined/.test(await page.textContent('#error')), 'no error message');
  await expect(/line 4/.test(await page.textContent('#traceback')), 'no traceback');
  const marked = await page.$$eval('.CodeMirror .cm-error-line', (ls) =>
    ls.map((l) => l.querySelector('.CodeMirror-linenumber').textContent));
  await expect(marked.length === 1 && marked[0] === String(BREAK_LINE), `highlighted lines: ${JSON.stringify(marked)}`);
  const info = await page.evaluate((n) => document.querySelector('.CodeMirror').CodeMirror.lineInfo(n - 1).wrapClass, BREAK_LINE);
  await expect(/cm-error-line/.test(info || ''), 'the CodeMirror line has no error class');
  await expect((await page.textContent('#error-goto')).trim() === 'Go to line 4', 'no "Go to line" button');
}

async function errorClearedOnEdit(t) {
  const { page } = t;
  for (let i = 0; i < BREAK_TEXT.length; i++) await page.keyboard.press('Backspace');
  await expect(await page.locator('.cm-error-line').count() === 0, 'the highlight stayed after an edit');
  await expect((await cmValue(page)) === SCRIPT_TEXT, 'the fix did not restore the script');
}

async function fixed(t) {
  const status = await runAndWait(t.page, t.server);
  await expect(/status-ok/.test(status.cls), `the fixed script did not succeed: ${status.text}`);
  await t.page.waitForFunction(() => document.getElementById('result-img').naturalWidth === 100);
}

// The session id the page keeps is one the server issued and knows.
async function expectServerSession(page) {
  const session = await page.evaluate(() => sessionStorage.getItem('imgsandbox.session_id'));
  await expect(session, 'no session id kept');
  const status = await page.evaluate((s) => fetch('/api/logs/session/' + encodeURIComponent(s)).then((r) => r.status), session);
  await expect(status === 200, `the server does not know the session kept (HTTP ${status})`);
}

async function history(t) {
  const { page } = t;
  await page.waitForFunction(() => document.querySelectorAll('#history-list .history-item').length >= 3, null,
    { timeout: 10000 });
  const items = await page.$$eval('#history-list .history-item', (ls) => ls.map((l) => l.className));
  const statuses = items.map((c) => (/status-(\w+)/.exec(c) || [])[1]);
  const iErr = statuses.lastIndexOf('error');
  await expect(iErr > 0 && statuses.slice(0, iErr).includes('success') && statuses.slice(iErr + 1).includes('success'),
    `history statuses: ${statuses.join(', ')}`);
  await expectServerSession(page);
  const changes = await page.textContent(`#history-list .history-item:nth-child(${iErr + 1})`);
  await expect(/fixed by attempt/.test(changes), `the failure is not shown as fixed: ${changes}`);
  // A click brings the failing attempt's code back, with its line marked.
  await page.click(`#history-list .history-item:nth-child(${iErr + 1}) .history-button`);
  await page.waitForFunction((t) => document.querySelector('.CodeMirror').CodeMirror.getValue().includes(t),
    BREAK_TEXT.trim());
  const marked = await page.$$eval('.CodeMirror .cm-error-line .CodeMirror-linenumber', (ls) => ls.map((l) => l.textContent));
  await expect(marked.join() === String(BREAK_LINE), `restored attempt marks line ${marked}`);
}

async function unfixedInNewSession(t) {
  const { page, server } = t;
  const before = await page.evaluate(() => sessionStorage.getItem('imgsandbox.session_id'));
  await page.click('#new-session');
  await setCode(page, 'print("no image saved")\n');
  const status = await runAndWait(page, server);
  await expect(/did not save \/output\/result\.png/.test(status.text), `the status says ${status.text}`);
  const after = await page.evaluate(() => sessionStorage.getItem('imgsandbox.session_id'));
  await expect(after && after !== before, 'the new session did not get a new id');
  await page.waitForFunction(() => document.querySelectorAll('#history-list .history-item').length === 1);
}

export async function runSuite(t) {
  await t.check(t.page, 'result', () => result(t));
  await t.check(t.page, 'error-line', () => errorLine(t));
  await t.check(t.page, 'error-cleared-on-edit', () => errorClearedOnEdit(t));
  await t.check(t.page, 'fixed', () => fixed(t));
  await t.check(t.page, 'history', () => history(t));
  await t.check(t.page, 'unfixed-in-new-session', () => unfixedInNewSession(t));
  await historySuite(t);
}
