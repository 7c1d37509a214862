// The assistant (issue #14) through the page, behind a service whose model
// is the stand-in (tests/integration/ai_standin.py, started here; each step
// loads the replies it will give): describe and Generate (the editor holds
// the model's script, it runs, its prompt and model are logged, the model
// was sent the log's AI context); a failed run, Fix with AI, the fix runs
// as the next attempt of the failed one and the diff shows what it changed;
// the automatic loop ends at the first success and at N; editing the
// script, or Stop, ends it and a late answer is dropped. Then the model's
// failures said plainly (assist-failures.mjs), and the dashboard from a
// host that is not the operator's.

import { RUN_TIMEOUT_MS } from '../harness/config.mjs';
import { cmValue, runAndWait, sessionAttempts, setCode, statusLine } from '../harness/page.mjs';
import { startStandin, stopStandin } from '../harness/services.mjs';
import { expect, fail } from '../harness/steps.mjs';
import { AI_WAIT_MS, dashboardNotLocal, modelFailures } from './assist-failures.mjs';
import { expectModelCard } from './models.mjs';

export const MODEL = 'standin-coder';
export const PROMPT = 'Turn the image upside down and say its size';
const LATE_S = 5; // how late the slow replies come (within the service's wait for the model)
const AFTER_LATE_MS = (LATE_S + 2) * 1000; // a wait past them, for what must not happen

export const GOOD = [
  'from PIL import Image',
  'image = Image.open("/input/image.png")',
  'image.rotate(180).save("/output/result.png")',
  'print("turned upside down", image.size)'
].join('\n') + '\n';

// A script that fails with NameError (sharpen_<n> is not defined).
function broken(n) {
  return [
    'from PIL import Image',
    'image = Image.open("/input/image.png")',
    `image = sharpen_${n}(image)`,
    'image.save("/output/result.png")'
  ].join('\n') + '\n';
}

// The fix of broken(n) a person would write.
const FIXED = [
  'from PIL import Image, ImageFilter',
  'image = Image.open("/input/image.png")',
  'image = image.filter(ImageFilter.SHARPEN)',
  'image.save("/output/result.png")'
].join('\n') + '\n';

// The page's line diff (static/js/diff.js), in the page: on random pairs of
// scripts it gives both texts back and is as short as the longest common
// subsequence allows; \r\n and \n lines are the same; past its budget of
// edits it says it is approximate; unchanged stretches fold.
async function lineDiffModule(page) {
  const got = await page.evaluate(async () => {
    const { diffHunks, lineDiff, splitLines } = await import('/js/diff.js');
    const lcs = (a, b) => {
      const t = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
      for (let i = a.length - 1; i >= 0; i--) {
        for (let j = b.length - 1; j >= 0; j--) t[i][j] = a[i] === b[j] ? t[i + 1][j + 1] + 1 : Math.max(t[i + 1][j], t[i][j + 1]);
      }
      return t[0][0];
    };
    let seed = 7;
    const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return Math.floor(seed / 2147483648 * n); };
    const bad = [];
    for (let k = 0; k < 500 && bad.length < 3; k++) {
      const a = Array.from({ length: rnd(14) }, () => 'xyzw'[rnd(4)]);
      const b = Array.from({ length: rnd(14) }, () => 'xyzw'[rnd(4)]);
      const d = lineDiff(a.join('\n'), b.join('\r\n') + (b.length ? '\r\n' : ''));
      const back = (keep) => d.ops.filter((o) => o.op !== keep).map((o) => o.text).join();
      const l = lcs(a, b);
      if (back('+') !== a.join() || back('-') !== b.join() || d.removed !== a.length - l || d.added !== b.length - l) bad.push([a, b]);
    }
    const many = lineDiff('1\n2\n3\n', 'a\nb\nc\n', 2);
    const folded = diffHunks(lineDiff(Array.from({ length: 20 }, (_, i) => i).join('\n'),
      Array.from({ length: 20 }, (_, i) => (i === 10 ? 'ten' : i)).join('\n')).ops, 3).map((o) => o.op === 'skip' ? o.count : o.op);
    return { bad, many: [many.approximate, many.added, many.removed], folded, crlf: splitLines('a\r\nb\r\n') };
  });
  await expect(got.bad.length === 0, `the diff is wrong for ${JSON.stringify(got.bad)}`);
  await expect(JSON.stringify(got.many) === '[true,3,3]', `past its budget: ${JSON.stringify(got.many)}`);
  await expect(JSON.stringify(got.folded) === '[7,"=","=","=","-","+","=","=","=",6]', `folded: ${JSON.stringify(got.folded)}`);
  await expect(JSON.stringify(got.crlf) === '["a","b"]', `\\r\\n lines: ${JSON.stringify(got.crlf)}`);
}

// A chat reply that holds code in a fence, with words around it.
export function reply(code, extra = {}) {
  return { content: `Here is the script:\n\n\`\`\`python\n${code}\`\`\`\n\nIt saves the result.`, ...extra };
}

function lf(text) {
  return typeof text === 'string' ? text.replace(/\r\n/g, '\n') : text;
}

// Resolves once the assistant and any run it started are done: {status, assist}.
export async function assistEnded(page, ms = 4 * RUN_TIMEOUT_MS) {
  await page.waitForFunction(() => !document.getElementById('assist-panel').classList.contains('busy') &&
    !document.getElementById('run').classList.contains('running'), null, { timeout: ms });
  return { status: await statusLine(page), assist: await page.textContent('#assist-status') };
}

// The stand-in's recorded requests: [{system, user}].
async function modelCalls(standin) {
  return (await standin.requests()).map((r) => {
    const messages = (r.json && r.json.messages) || [];
    const of = (role) => (messages.find((m) => m.role === role) || {}).content || '';
    return { system: of('system'), user: of('user') };
  });
}

async function generate(t) {
  const { page, standin } = t;
  await page.goto('/');
  await page.waitForSelector('body.editor-codemirror .CodeMirror');
  const before = await cmValue(page);
  const context = await page.evaluate(() => fetch('/api/logs/ai-context', { cache: 'no-store' }).then((r) => r.text()));
  await standin.load([reply(GOOD)]);
  await page.fill('#assist-prompt', PROMPT);
  await page.click('#generate');
  const end = await assistEnded(page);
  await expect((await cmValue(page)) === GOOD, `the editor holds ${JSON.stringify(await cmValue(page))}`);
  await expect(/status-ok/.test(end.status.cls), `the model's script did not run: ${end.status.text}`);
  await page.waitForFunction(() => document.getElementById('result-img').naturalWidth > 0);
  await expect(/turned upside down/.test(await page.textContent('#stdout')), 'the script\'s output is not shown');
  await expect(end.assist.includes(MODEL) && /ran\./.test(end.assist), `the assistant says ${end.assist}`);
  await expect(/Here is the script:/.test(await page.textContent('#assist-notes')), 'the model\'s notes are not shown');
  const last = (await sessionAttempts(page)).pop();
  await expect(last && last.user_prompt === PROMPT && last.ai_model === MODEL && last.code_truncated === false &&
    lf(last.code_excerpt) === GOOD,
    `the log has ${JSON.stringify(last && { prompt: last.user_prompt, model: last.ai_model })}`);
  const calls = await modelCalls(standin);
  await expect(calls.length === 1, `the model was asked ${calls.length} times`);
  await expect(context.startsWith('# The image sandbox') && calls[0].system.includes(context),
    'the system message does not hold the log\'s AI context');
  await expect(calls[0].user.includes(PROMPT) && calls[0].user.includes(before.split('\n')[0]),
    'the user message lacks the description or the script it changes');
  t.before = before;
}

// The person's script is a click away ("Bring back your script"), and Ctrl+Z
// takes that back to the model's.
async function bringBack(t) {
  const { page } = t;
  await page.click('#assist-undo');
  await expect((await cmValue(page)) === t.before, 'the script before Generate did not come back');
  await page.evaluate(() => document.querySelector('.CodeMirror').CodeMirror.focus());
  await page.keyboard.press('Control+Z');
  await expect((await cmValue(page)) === GOOD, 'Ctrl+Z did not bring the model\'s script back');
}

// A failed run of script: resolves the status line.
async function failingRun(t, script) {
  await setCode(t.page, script);
  const status = await runAndWait(t.page, t.server);
  await expect(/status-fail/.test(status.cls) && /NameError/.test(status.text), `the broken script: ${status.text}`);
  await t.page.waitForSelector('#fix-bar:not([hidden])');
  return status;
}

// The diff view's lines: {del: [...], add: [...], summary}.
function shownDiff(page) {
  return page.evaluate(() => ({
    del: [...document.querySelectorAll('#diff del .diff-text')].map((e) => e.textContent),
    add: [...document.querySelectorAll('#diff ins .diff-text')].map((e) => e.textContent),
    summary: document.getElementById('diff-summary').textContent,
    shown: !document.getElementById('diff-box').hidden
  }));
}

// The diff of broken(1) and FIXED is shown, named by summary.
async function expectFixDiff(page, summary) {
  const d = await shownDiff(page);
  await expect(d.shown && d.del.join('|') === 'from PIL import Image|image = sharpen_1(image)' &&
    d.add.join('|') === 'from PIL import Image, ImageFilter|image = image.filter(ImageFilter.SHARPEN)',
  `the diff: ${JSON.stringify(d)}`);
  await expect(d.summary === summary, `the diff says "${d.summary}", not "${summary}"`);
}

async function fixWithAi(t) {
  const { page, standin } = t;
  await failingRun(t, broken(1));
  await standin.load([reply(FIXED)]);
  await page.click('#fix-ai');
  const end = await assistEnded(page);
  await expect((await cmValue(page)) === FIXED, 'the editor does not hold the fix');
  await expect(/status-ok/.test(end.status.cls) && /^Fixed/.test(end.assist), `the fix: ${end.status.text} / ${end.assist}`);
  const attempts = await sessionAttempts(page);
  const [failed, fix] = attempts.slice(-2);
  await expect(failed.status === 'error' && fix.status === 'success' && fix.previous_attempt_id === failed.log_id &&
    fix.user_prompt === PROMPT && fix.ai_model === MODEL,
  `the log: ${JSON.stringify([failed, fix].map((a) => [a.log_id, a.status, a.previous_attempt_id, a.ai_model]))}`);
  const calls = await modelCalls(standin);
  await expect(calls.length === 1 && calls[0].user.includes('sharpen_1') && calls[0].user.includes('NameError'),
    'the model was not given the failed attempt and its error');
  await expect(/^# Lessons from the execution log/m.test(calls[0].system), 'the system message has no lessons from the log');
  const changed = '2 lines added, 2 lines removed.';
  await expectFixDiff(page, `attempt ${failed.attempt} (failed) → attempt ${fix.attempt}: ${changed}`);
  // The history shows the same change next to the fix.
  await page.click('#diff-close');
  await page.waitForFunction((n) => document.querySelectorAll('#history-list .history-item').length === n &&
    document.querySelector('#history-list .history-item:last-child .history-diff'), attempts.length);
  await page.click('#history-list .history-item:last-child .history-diff');
  await expectFixDiff(page, `attempt ${failed.attempt} (error) → attempt ${fix.attempt}: ${changed}`);
}

// The attempts added since n0, as [status, previous is the one before].
function chain(attempts, n0) {
  const added = attempts.slice(n0);
  return added.map((a, i) => [a.status, i === 0 || a.previous_attempt_id === added[i - 1].log_id]);
}

async function loopUntilSuccess(t) {
  const { page, standin } = t;
  await page.check('#auto-fix');
  await page.selectOption('#auto-fix-max', '3');
  const n0 = (await sessionAttempts(page)).length;
  await standin.load([reply(broken(2)), reply(broken(3)), reply(GOOD), reply(FIXED)]);
  await page.click('#generate');
  const end = await assistEnded(page);
  await expect(/^Fixed by fix 2 of 3/.test(end.assist), `the assistant says ${end.assist}`);
  await expect((await cmValue(page)) === GOOD, 'the editor does not hold the script that ran');
  const calls = await modelCalls(standin);
  await expect(calls.length === 3, `the model was asked ${calls.length} times, not 3`);
  const c = chain(await sessionAttempts(page), n0);
  await expect(JSON.stringify(c) === JSON.stringify([['error', true], ['error', true], ['success', true]]),
    `the attempts: ${JSON.stringify(c)}`);
}

async function loopStopsAtN(t) {
  const { page, standin } = t;
  await page.selectOption('#auto-fix-max', '2');
  const n0 = (await sessionAttempts(page)).length;
  await failingRun(t, broken(4));
  await standin.load([reply(broken(5)), reply(broken(6)), reply(broken(7)), reply(GOOD)]);
  await page.click('#fix-ai');
  const end = await assistEnded(page);
  await expect(/^Still failing after 2 fixes/.test(end.assist), `the assistant says ${end.assist}`);
  await expect((await modelCalls(standin)).length === 2, 'the model was not asked exactly twice');
  const c = chain(await sessionAttempts(page), n0);
  await expect(JSON.stringify(c) === JSON.stringify([['error', true], ['error', true], ['error', true]]),
    `the attempts: ${JSON.stringify(c)}`);
  await expect((await cmValue(page)) === broken(6), 'the editor does not hold the last fix');
}

// Waits past a late reply, then checks nothing of it reached the editor or the log.
async function lateReplyDropped(page, script, n) {
  await page.waitForTimeout(AFTER_LATE_MS);
  await expect((await cmValue(page)) === script, 'the model\'s late answer replaced the script');
  const now = (await sessionAttempts(page)).length;
  await expect(now === n, `${now - n} more attempt(s) ran after the loop ended`);
}

async function editStopsLoop(t) {
  const { page, standin } = t;
  await page.selectOption('#auto-fix-max', '3');
  await standin.load([reply(broken(8)), reply(GOOD, { delay_s: LATE_S })]);
  await page.click('#fix-ai');
  await page.waitForFunction(() => /^Fix 2 of 3: asking/.test(document.getElementById('assist-status').textContent),
    null, { timeout: 2 * RUN_TIMEOUT_MS });
  await page.evaluate(() => {
    const cm = document.querySelector('.CodeMirror').CodeMirror;
    cm.focus();
    cm.setCursor(cm.lastLine(), 0);
  });
  await page.keyboard.type('# changed by hand\n');
  await page.waitForFunction(() => /you edited the script/.test(document.getElementById('assist-status').textContent));
  const mine = await cmValue(page);
  await expect(mine === broken(8) + '# changed by hand\n', `the editor holds ${JSON.stringify(mine)}`);
  await lateReplyDropped(page, mine, (await sessionAttempts(page)).length);
}

async function stopEndsIt(t) {
  const { page, standin } = t;
  const mine = await cmValue(page);
  await standin.load([reply(GOOD, { delay_s: LATE_S })]);
  await page.click('#fix-ai');
  await page.waitForFunction(() => /asking/.test(document.getElementById('assist-status').textContent));
  await page.click('#assist-stop');
  await page.waitForFunction(() => document.getElementById('assist-status').textContent === 'Stopped.');
  await expect(await page.isHidden('#assist-stop') && await page.getAttribute('#generate', 'aria-disabled') === null,
    'the assistant still looks busy after Stop');
  await lateReplyDropped(page, mine, (await sessionAttempts(page)).length);
}

// A page from the loopback address (the operator's) shows the panels.
async function dashboardLocal(t) {
  const { page } = t;
  await page.goto('/dashboard.html');
  await page.waitForSelector('#trend-chart svg', { timeout: 15000 });
  await expect(await page.isHidden('#access-panel') && Number(await page.evaluate(() =>
    document.getElementById('kpi-runs').firstChild.textContent)) > 0, 'the operator does not see the dashboard');
  // The model's runs are in the panel per model.
  await expectModelCard(page, MODEL);
}

async function assistSteps(t) {
  const { page } = t;
  await page.goto('/');
  await t.check(null, 'line-diff', () => lineDiffModule(page));
  await t.check(page, 'assist-generate', () => generate(t));
  await t.check(page, 'assist-bring-back', () => bringBack(t));
  await t.check(page, 'assist-fix-with-ai', () => fixWithAi(t));
  await t.check(page, 'assist-loop-until-success', () => loopUntilSuccess(t));
  await t.check(page, 'assist-loop-stops-at-n', () => loopStopsAtN(t));
  await t.check(page, 'assist-edit-stops-loop', () => editStopsLoop(t));
  await t.check(page, 'assist-stop', () => stopEndsIt(t));
  await t.check(null, 'assist-model-failures', () => modelFailures(t));
  await t.check(page, 'assist-dashboard-local', () => dashboardLocal(t));
  await t.check(null, 'assist-dashboard-not-local', () => dashboardNotLocal(t));
  await t.check(null, 'assist-no-csp-violations-or-errors', async () => {
    await expect(t.problems.length === 0, t.problems.slice(0, 5).join(' | '));
  });
}

// The service's settings: the stand-in as the model, a short wait for it,
// and a roomy share for the one client these tests are.
function assistEnv(standin) {
  return {
    IMGSANDBOX_AI_URL: standin.url,
    IMGSANDBOX_AI_MODEL: MODEL,
    IMGSANDBOX_AI_TIMEOUT_MS: String(AI_WAIT_MS),
    IMGSANDBOX_CLIENT_INFLIGHT: '1024',
    IMGSANDBOX_CLIENT_RUNS_PER_MIN: '1000000',
    IMGSANDBOX_CLIENT_BURST: '100000'
  };
}

// Starts the stand-in, then the service on it through withService(how,
// steps) (run.mjs's), and stops the stand-in whatever happened.
export async function assistService(server, withService) {
  let standin;
  try {
    standin = await startStandin();
  } catch (e) {
    fail(server, `assist: ${e.message}`);
    return;
  }
  try {
    await withService({ env: assistEnv(standin), prefix: 'assist-' }, (t) => assistSteps({ ...t, standin }));
  } finally {
    await stopStandin(standin);
  }
}
