// Browser tests of the page (static/index.html, static/dashboard.html) in
// Debian's headless Chromium, driven by playwright-core (no browser is ever
// downloaded), against the real service behind lighttpd AND nginx.
//
// For each server it starts `fcgi/serve.sh` itself on a free port with a fresh
// data folder (real responders, real dockerd, real SQLite), then: types a
// script in the editor, uploads a PNG made here, runs it and sees the result,
// breaks the script and sees the failing line highlighted, fixes it, sees the
// attempts in the session history, runs the starter examples, opens the
// dashboard and sees its chart, and checks that nothing broke the CSP.
// Screenshots of every step: build/artifacts/browser/<server>/NN-step.png.
//
//   cd tests/browser && npm ci && node run.mjs
//   SERVERS=nginx node run.mjs          (one server)
//   EXAMPLES_ON=all node run.mjs        (every example behind every server; default: shared out)
//   SERIAL=1 node run.mjs               (one server after the other)
//
// Needs `make all`, the runner image and a running dockerd (what `make test`
// guarantees), chromium (apt-get install chromium). Ends with the line
// "N passed, M failed" and a non-zero exit status when something failed.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const ARTIFACTS = path.join(ROOT, 'build', 'artifacts', 'browser');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SERVERS = (process.env.SERVERS || 'lighttpd,nginx').split(',').map((s) => s.trim()).filter(Boolean);
// Which server runs which example: by default they are shared out (each
// runs once, in parallel halves); "all" runs every one behind every server.
const EXAMPLES_ON = process.env.EXAMPLES_ON || 'split';
const SUITE_DEADLINE_MS = Number(process.env.SUITE_DEADLINE_MS || 300000);
const RUN_TIMEOUT_MS = 90000; // one run through the page, queueing included

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic'
];

/* ---------- Results ---------- */

let passed = 0;
let failed = 0;
const started = Date.now();

function log(server, text) {
  process.stdout.write(`[${server}] ${text}\n`);
}

/* ---------- Services started here, stopped on every way out ---------- */

const services = new Set();

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

function stopAllNow() {
  for (const s of services) killGroup(s.child.pid, 'SIGKILL');
}

process.on('exit', stopAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    process.stdout.write(`browser tests: ${sig}, stopping the services\n`);
    stopAllNow();
    process.exit(130);
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, child, ms) {
  const until = Date.now() + ms;
  let last = '';
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`serve.sh ended with status ${child.exitCode}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer in ${ms / 1000} s (${last})`);
}

async function startService(server, artDir) {
  const port = await freePort();
  const data = fs.mkdtempSync(path.join(os.tmpdir(), `imgsandbox-browser-${server}-`));
  const logPath = path.join(artDir, 'serve.log');
  const out = fs.openSync(logPath, 'w');
  const child = spawn(path.join(ROOT, 'fcgi', 'serve.sh'), [], {
    cwd: ROOT,
    env: {
      ...process.env, PORT: String(port), SERVER: server, IMGSANDBOX_DATA: data, START_DOCKERD: 'no',
      // These tests are about the page: a loaded test machine must not turn a
      // simple script into a timeout (the time limit has its own tests).
      IMGSANDBOX_TIMEOUT_MS: process.env.IMGSANDBOX_TIMEOUT_MS || '30000'
    },
    detached: true, // its own process group: stopped as a whole
    stdio: ['ignore', out, out]
  });
  fs.closeSync(out);
  const service = { server, port, data, child, base: `http://127.0.0.1:${port}` };
  services.add(service);
  service.exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    await waitForHttp(`${service.base}/`, child, 60000);
    await waitForHttp(`${service.base}/api/health`, child, 30000);
  } catch (e) {
    await stopService(service);
    throw new Error(`${server} did not start: ${e.message} (see ${logPath})`);
  }
  return service;
}

async function stopService(service) {
  if (!services.has(service)) return;
  killGroup(service.child.pid, 'SIGTERM');
  const done = await Promise.race([
    service.exited.then(() => true),
    new Promise((r) => setTimeout(() => r(false), 10000))
  ]);
  // serve.sh stops its children on SIGTERM; anything left gets SIGKILL.
  killGroup(service.child.pid, 'SIGKILL');
  if (!done) await Promise.race([service.exited, new Promise((r) => setTimeout(r, 2000))]);
  services.delete(service);
}

function keepServiceLogs(service, artDir) {
  try {
    const run = path.join(service.data, `run-${service.server}-${service.port}`);
    for (const f of fs.readdirSync(run)) {
      if (f.endsWith('.log')) fs.copyFileSync(path.join(run, f), path.join(artDir, f));
    }
  } catch {
    /* nothing to keep */
  }
}

/* ---------- A PNG made here (no image library needed) ---------- */

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

// An RGB picture: a colour gradient with a dark disc, width x height.
function makePng(width, height) {
  const stride = width * 3 + 1;
  const raw = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    raw[y * stride] = 0;
    for (let x = 0; x < width; x++) {
      const i = y * stride + 1 + x * 3;
      const inDisc = (x - width * 0.6) ** 2 + (y - height * 0.5) ** 2 < (height * 0.28) ** 2;
      raw[i] = inDisc ? 30 : Math.round((255 * x) / (width - 1));
      raw[i + 1] = inDisc ? 30 : Math.round((255 * y) / (height - 1));
      raw[i + 2] = inDisc ? 60 : 160;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0))
  ]);
}

/* ---------- What the tests type ---------- */

// Typed line by line (no indentation: the editor indents by itself).
const SCRIPT = [
  'import numpy as np',
  'from PIL import Image',
  'img = Image.open("/input/image.png").convert("RGB")',
  'arr = np.asarray(img)',
  'out = Image.fromarray(255 - arr[::-1])',
  'out = out.resize((img.width // 2, img.height // 2))',
  'out.save("/output/result.png")',
  'print("flipped", img.size, "->", out.size)'
];
const BREAK_LINE = 4; // the line the broken script fails on
const BREAK_TEXT = ' * missing_scale';

const EXAMPLES = [
  { title: 'Grayscale', marker: 'ImageOps.grayscale', stdout: 'Grayscale of' },
  { title: 'Blur', marker: 'ImageFilter.GaussianBlur', stdout: 'Blurred' },
  { title: 'Edges', marker: 'cv2.Canny', stdout: 'Edge pixels' },
  { title: 'Threshold', marker: 'filters.threshold_otsu', stdout: 'Otsu threshold' },
  { title: 'Draw text', marker: 'ImageDraw.Draw', stdout: 'Drew' }
];

/* ---------- Page helpers ---------- */

function cmValue(page) {
  return page.evaluate(() => document.querySelector('.CodeMirror').CodeMirror.getValue());
}

// Presses Run (or Ctrl+Enter) and waits for the answer. Retries a run that
// the machine's load made time out or that found every slot busy (said so
// in the output): that is the host, not the page.
async function runAndWait(page, server, how = 'button', want = null, during = null) {
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
    const status = await page.evaluate(() => ({
      cls: document.getElementById('status').className,
      text: document.getElementById('status').textContent
    }));
    const loadProblem = /time limit|busy/i.test(status.text) && !(want && want.test(status.text));
    if (!loadProblem || attempt >= 3) return status;
    log(server, `note: the run ended with "${status.text}" (host load); running it again`);
  }
}

async function expect(cond, message) {
  if (!cond) throw new Error(message);
}

/* ---------- The steps, behind one server ---------- */

async function testServer(server, browserDir) {
  const artDir = path.join(ARTIFACTS, server);
  fs.rmSync(artDir, { recursive: true, force: true });
  fs.mkdirSync(artDir, { recursive: true });
  let service = null;
  let context = null;
  let shot = 0;
  const problems = []; // console errors, page errors, CSP violations

  async function check(page, name, fn) {
    const t0 = Date.now();
    let error = null;
    if (service && service.child.exitCode !== null) {
      failed += 1;
      log(server, `FAIL ${name}: the service is gone (serve.sh ended with ${service.child.exitCode}; see ${artDir})`);
      return false;
    }
    try {
      await fn();
    } catch (e) {
      error = e;
    }
    if (error && service && service.child.exitCode !== null) {
      error = new Error(`${error.message.split('\n')[0]} -- the service stopped meanwhile (serve.sh ended with ` +
        `${service.child.exitCode}, signal ${service.child.signalCode}; see ${artDir})`);
    }
    if (page) {
      shot += 1;
      const file = path.join(artDir, `${String(shot).padStart(2, '0')}-${name}.png`);
      try {
        await page.screenshot({ path: file, fullPage: true });
      } catch {
        /* the page may be gone */
      }
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (error) {
      failed += 1;
      log(server, `FAIL ${name} (${secs} s): ${error.message.split('\n')[0]}`);
    } else {
      passed += 1;
      log(server, `ok   ${name} (${secs} s)`);
    }
    return !error;
  }

  try {
    try {
      service = await startService(server, artDir);
    } catch (e) {
      failed += 1;
      log(server, `FAIL start: ${e.message}`);
      return;
    }
    log(server, `service on ${service.base} (data ${service.data})`);

    context = await chromium.launchPersistentContext(browserDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1000 },
      permissions: ['clipboard-read', 'clipboard-write'],
      baseURL: service.base
    });
    const page = context.pages()[0] || (await context.newPage());
    await page.exposeFunction('__cspViolation', (text) => problems.push(`CSP: ${text}`));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
      });
    });
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content.Security.Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

    const pngPath = path.join(artDir, 'input-200x150.png');
    fs.writeFileSync(pngPath, makePng(200, 150));
    const notPng = path.join(artDir, 'not-an-image.png');
    fs.writeFileSync(notPng, 'this is text, not a PNG\n');

    await check(page, 'loaded', async () => {
      await page.goto('/');
      await page.waitForSelector('body.editor-codemirror .CodeMirror');
      await page.waitForSelector('#health.health-ok', { timeout: 15000 });
      await expect(await page.isVisible('#preview-img'), 'the sample image is not chosen on a first visit');
      const cmSrc = await page.evaluate(() => [...document.scripts].map((s) => s.src).filter((s) => /codemirror/.test(s)));
      await expect(cmSrc.length >= 2 && cmSrc.every((s) => s.startsWith(service.base)), 'CodeMirror is not served by our server');
    });

    await check(page, 'typed', async () => {
      await page.click('.CodeMirror-code');
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      for (const line of SCRIPT) {
        await page.keyboard.type(line);
        await page.keyboard.press('Enter');
      }
      const value = await cmValue(page);
      await expect(value === SCRIPT.join('\n') + '\n', `the editor holds ${JSON.stringify(value.slice(0, 80))}`);
      await expect(await page.locator('.CodeMirror .cm-keyword').count() > 0, 'no Python highlighting');
      await expect(await page.locator('.CodeMirror-linenumber').count() >= SCRIPT.length, 'no line numbers');
      // Indentation: Enter after a colon indents by 4 spaces.
      await page.keyboard.type('if True:');
      await page.keyboard.press('Enter');
      const indented = await page.evaluate(() => {
        const cm = document.querySelector('.CodeMirror').CodeMirror;
        return cm.getLine(cm.lastLine());
      });
      await expect(indented === '    ', `no indentation after a colon (${JSON.stringify(indented)})`);
      await page.keyboard.press('Control+Z');
      await page.keyboard.press('Control+Z');
      await page.evaluate((text) => {
        const cm = document.querySelector('.CodeMirror').CodeMirror;
        if (cm.getValue() !== text) cm.setValue(text);
      }, SCRIPT.join('\n') + '\n');
      // Esc, then Tab, leaves the editor (no keyboard trap).
      await page.keyboard.press('Escape');
      await page.keyboard.press('Tab');
      const left = await page.evaluate(() => !document.activeElement.closest('.CodeMirror'));
      await expect(left, 'Esc then Tab did not move the focus out of the editor');
      // Kept between visits.
      await page.waitForTimeout(400);
      await page.reload();
      await page.waitForSelector('.CodeMirror');
      await expect((await cmValue(page)) === SCRIPT.join('\n') + '\n', 'the code was not kept after a reload');
    });

    await check(page, 'image-chosen', async () => {
      await page.setInputFiles('#image-input', notPng);
      await page.waitForFunction(() => /not a PNG or JPEG/.test(document.getElementById('image-error').textContent));
      await page.setInputFiles('#image-input', pngPath);
      await page.waitForFunction(() => /200 × 150 px/.test(document.getElementById('image-info').textContent));
      await expect(!(await page.isChecked('#use-sample')), 'the sample stayed ticked');
      await expect((await page.textContent('#image-error')).trim() === '', 'the old error stayed');
      const dims = await page.evaluate(() => [document.getElementById('input-img').naturalWidth,
        document.getElementById('input-img').naturalHeight]);
      await expect(dims[0] === 200 && dims[1] === 150, `the input preview is ${dims}`);
    });

    await check(page, 'image-paste-and-drop', async () => {
      const bytes = [...makePng(64, 48)];
      await page.evaluate((b) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(b)], 'image.png', { type: 'image/png' }));
        document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
      }, bytes);
      await page.waitForFunction(() => /pasted-image\.png .*64 × 48 px/.test(document.getElementById('image-info').textContent));
      const dropped = [...fs.readFileSync(pngPath)];
      await page.evaluate((b) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(b)], 'dropped.png', { type: 'image/png' }));
        const field = document.getElementById('image-field');
        field.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true }));
        field.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, dropped);
      await page.waitForFunction(() => /dropped\.png .*200 × 150 px/.test(document.getElementById('image-info').textContent));
    });

    await check(page, 'result', async () => {
      let seen = null;
      const status = await runAndWait(page, server, 'button', null, async () => {
        // While it runs: the button says so, the time counts, the editor stays usable.
        await page.waitForFunction(() => /^\d+\.\d s$/.test(document.getElementById('elapsed').textContent) &&
          document.getElementById('elapsed').textContent !== '0.0 s', null, { timeout: 5000 }).catch(() => {});
        seen = await page.evaluate(() => ({
          label: document.getElementById('run-label').textContent,
          busy: document.getElementById('run').getAttribute('aria-disabled'),
          elapsed: document.getElementById('elapsed').textContent,
          readOnly: document.querySelector('.CodeMirror').CodeMirror.getOption('readOnly')
        }));
      });
      await expect(seen && seen.label === 'Running…' && seen.busy === 'true' && seen.readOnly === false,
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
    });

    await check(page, 'error-line', async () => {
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
    });

    await check(page, 'error-cleared-on-edit', async () => {
      for (let i = 0; i < BREAK_TEXT.length; i++) await page.keyboard.press('Backspace');
      await expect(await page.locator('.cm-error-line').count() === 0, 'the highlight stayed after an edit');
      await expect((await cmValue(page)) === SCRIPT.join('\n') + '\n', 'the fix did not restore the script');
    });

    await check(page, 'fixed', async () => {
      const status = await runAndWait(page, server);
      await expect(/status-ok/.test(status.cls), `the fixed script did not succeed: ${status.text}`);
      await page.waitForFunction(() => document.getElementById('result-img').naturalWidth === 100);
    });

    await check(page, 'history', async () => {
      await page.waitForFunction(() => document.querySelectorAll('#history-list .history-item').length >= 3, null,
        { timeout: 10000 });
      const items = await page.$$eval('#history-list .history-item', (ls) => ls.map((l) => l.className));
      const statuses = items.map((c) => (/status-(\w+)/.exec(c) || [])[1]);
      const iErr = statuses.lastIndexOf('error');
      await expect(iErr > 0 && statuses.slice(0, iErr).includes('success') && statuses.slice(iErr + 1).includes('success'),
        `history statuses: ${statuses.join(', ')}`);
      const session = await page.evaluate(() => sessionStorage.getItem('imgsandbox.session_id'));
      await expect(/^[A-Za-z0-9_-]{1,64}$/.test(session || ''), 'no session id kept');
      const changes = await page.textContent(`#history-list .history-item:nth-child(${iErr + 1})`);
      await expect(/fixed by attempt/.test(changes), `the failure is not shown as fixed: ${changes}`);
      // A click brings the failing attempt's code back, with its line marked.
      await page.click(`#history-list .history-item:nth-child(${iErr + 1}) .history-button`);
      await page.waitForFunction((t) => document.querySelector('.CodeMirror').CodeMirror.getValue().includes(t),
        BREAK_TEXT.trim());
      const marked = await page.$$eval('.CodeMirror .cm-error-line .CodeMirror-linenumber', (ls) => ls.map((l) => l.textContent));
      await expect(marked.join() === String(BREAK_LINE), `restored attempt marks line ${marked}`);
    });

    await check(page, 'unfixed-in-new-session', async () => {
      const before = await page.evaluate(() => sessionStorage.getItem('imgsandbox.session_id'));
      await page.click('#new-session');
      await page.evaluate(() => document.querySelector('.CodeMirror').CodeMirror.setValue('print("no image saved")\n'));
      const status = await runAndWait(page, server);
      await expect(/did not save \/output\/result\.png/.test(status.text), `the status says ${status.text}`);
      const after = await page.evaluate(() => sessionStorage.getItem('imgsandbox.session_id'));
      await expect(after && after !== before, 'the new session did not get a new id');
      await page.waitForFunction(() => document.querySelectorAll('#history-list .history-item').length === 1);
    });

    const mine = EXAMPLES.filter((_, i) => EXAMPLES_ON === 'all' || EXAMPLES_ON === server ||
      (EXAMPLES_ON === 'split' && SERVERS[i % SERVERS.length] === server));
    if (mine.length) {
      // Their own session: a success here would count as the fix of the failure above.
      await page.click('#new-session');
      await page.check('#use-sample');
      await check(page, 'examples-menu', async () => {
        // Keyboard: ArrowDown opens the menu on its first item; Escape closes it.
        await page.focus('#examples-button');
        await page.keyboard.press('ArrowDown');
        await page.keyboard.press('ArrowDown');
        const focused = await page.evaluate(() => document.activeElement.textContent);
        await expect(/^Grayscale/.test(focused), `the second item is not focused (${focused})`);
        await page.keyboard.press('Escape');
        await expect(await page.isHidden('#examples-menu'), 'Escape did not close the menu');
        await expect(await page.evaluate(() => document.activeElement.id) === 'examples-button', 'the focus did not come back');
        await page.click('#examples-button'); // left open for the screenshot
        await page.waitForSelector('#examples-menu:not([hidden])');
        await expect(await page.locator('#examples-menu [role="menuitem"]').count() >= 5, 'fewer than 5 examples');
      });
      await page.click('#examples-button');
      for (const ex of mine) {
        await check(page, `example-${ex.title.toLowerCase().replace(/\W+/g, '-')}`, async () => {
          await page.click('#examples-button');
          await page.click(`#examples-menu [role="menuitem"]:has-text("${ex.title}")`);
          await page.waitForFunction((m) => document.querySelector('.CodeMirror').CodeMirror.getValue().includes(m), ex.marker);
          await expect(await page.isHidden('#examples-menu'), 'the menu stayed open');
          const status = await runAndWait(page, server);
          await expect(/status-ok/.test(status.cls), `the example failed: ${status.text} ${await page.textContent('#error')}`);
          await page.waitForFunction(() => document.getElementById('result-img').naturalWidth === 640 &&
            document.getElementById('result-img').naturalHeight === 480);
          await expect((await page.textContent('#stdout')).includes(ex.stdout), 'unexpected stdout');
        });
      }
    }

    await check(page, 'dashboard', async () => {
      await page.click('.site-nav a[href="dashboard.html"]');
      await page.waitForSelector('#trend-chart svg .bar-ok', { timeout: 15000 });
      const chart = await page.evaluate(() => ({
        bars: document.querySelectorAll('#trend-chart svg rect').length,
        dots: document.querySelectorAll('#trend-chart svg circle').length
      }));
      await expect(chart.bars >= 2 && chart.dots >= 1, `the chart has ${chart.bars} bars and ${chart.dots} dots`);
      await page.click('#scale-day');
      await page.waitForSelector('#scale-day[aria-pressed="true"]');
      await expect(await page.locator('#trend-chart svg .bar-ok').count() >= 1, 'no chart by day');
      await page.click('#scale-recent');
      await page.waitForSelector('#scale-recent[aria-pressed="true"]');
      const runs = Number(await page.evaluate(() => document.getElementById('kpi-runs').firstChild.textContent));
      await expect(runs >= 4, `the dashboard counts ${runs} runs`);
      await expect(await page.locator('#outcomes .outcome').count() >= 2, 'no outcomes');
      await expect(/NameError/.test(await page.textContent('#patterns-table')), 'NameError is not among the patterns');
      await expect(await page.locator('#recs .rec').count() >= 1, 'no recommendations');
      const ctx = await page.textContent('#context-text');
      await expect(/^# The image sandbox/.test(ctx), 'no AI context');
      await page.click('#copy-context');
      await page.waitForFunction(() => /Copied/.test(document.getElementById('copy-status').textContent));
      const clip = await page.evaluate(() => navigator.clipboard.readText());
      await expect(clip === ctx, 'the clipboard does not hold the AI context');
    });

    await check(page, 'dashboard-log-dialog', async () => {
      await page.waitForSelector('#unfixed .failure');
      const item = page.locator('#unfixed .failure', { hasText: 'without saving' }).first();
      await item.locator('button').click();
      await page.waitForFunction(() => document.getElementById('log-dialog').open &&
        /no image saved/.test(document.getElementById('log-code').textContent));
      await expect(/without saving/.test(await page.textContent('#log-error')), 'the dialog does not say what failed');
    });

    await check(page, 'open-in-playground', async () => {
      await page.click('#log-open');
      await page.waitForURL((u) => u.pathname === '/');
      await page.waitForFunction(() => document.querySelector('.CodeMirror') &&
        document.querySelector('.CodeMirror').CodeMirror.getValue().includes('no image saved'));
    });

    await check(page, 'phone-playground', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(200);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      await expect(overflow <= 0, `the page is ${overflow}px wider than a phone`);
      const run = await page.evaluate(() => document.getElementById('run').getBoundingClientRect().height);
      await expect(run >= 40, `the Run button is ${run}px high: too small a target`);
    });

    await check(page, 'phone-dashboard', async () => {
      await page.goto('/dashboard.html');
      await page.waitForSelector('#trend-chart svg');
      const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      await expect(overflow2 <= 0, `the dashboard is ${overflow2}px wider than a phone`);
    });

    await check(null, 'no-csp-violations-or-errors', async () => {
      await expect(problems.length === 0, problems.slice(0, 5).join(' | '));
    });

    // The plain text box when CodeMirror is missing (its files blocked).
    const plain = await context.newPage();
    await plain.setViewportSize({ width: 1200, height: 900 });
    await check(plain, 'textarea-fallback', async () => {
      await plain.route('**/vendor/codemirror/**', (route) => route.abort());
      await plain.goto('/');
      await plain.waitForSelector('body.editor-plain');
      await expect(await plain.isVisible('#code'), 'the textarea is not shown');
      await plain.fill('#code', 'x = 1\n');
      await plain.focus('#code');
      await plain.keyboard.press('End');
      await plain.keyboard.press('Tab');
      await expect((await plain.inputValue('#code')).includes('    '), 'Tab did not indent in the textarea');
      // A failing run marks the box and "Go to line" selects the line.
      await plain.fill('#code', 'x = 1\ny = undefined_name\n');
      const status = await runAndWait(plain, server);
      await expect(/NameError on line 2/.test(status.text), `the status says ${status.text}`);
      await expect((await plain.getAttribute('#code', 'data-error-line')) === '2', 'the textarea is not marked');
      await plain.click('#error-goto');
      const sel = await plain.evaluate(() => {
        const ta = document.getElementById('code');
        return ta.value.slice(ta.selectionStart, ta.selectionEnd);
      });
      await expect(sel === 'y = undefined_name', `"Go to line" selected ${JSON.stringify(sel)}`);
    });
    await plain.close();
  } catch (e) {
    failed += 1;
    log(server, `FAIL (unexpected): ${e.stack || e.message}`);
  } finally {
    if (context) await context.close().catch(() => {});
    if (service) {
      keepServiceLogs(service, artDir);
      await stopService(service);
      fs.rmSync(service.data, { recursive: true, force: true });
    }
  }
}

/* ---------- Main ---------- */

async function main() {
  if (!fs.existsSync(CHROMIUM)) {
    process.stdout.write(`browser tests: ${CHROMIUM} is missing: apt-get install chromium (never downloaded here)\n`);
    process.stdout.write('0 passed, 1 failed\n');
    process.exit(1);
  }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const watchdog = setTimeout(() => {
    process.stdout.write(`browser tests: over ${SUITE_DEADLINE_MS / 1000} s, stopping\n`);
    failed += 1;
    process.stdout.write(`${passed} passed, ${failed} failed\n`);
    stopAllNow();
    process.exit(1);
  }, SUITE_DEADLINE_MS);
  const dirs = [];
  const one = async (server) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `imgsandbox-chromium-${server}-`));
    dirs.push(dir);
    await testServer(server, dir);
  };
  if (process.env.SERIAL) {
    for (const s of SERVERS) await one(s);
  } else {
    await Promise.all(SERVERS.map(one));
  }
  clearTimeout(watchdog);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  process.stdout.write(`browser tests: ${((Date.now() - started) / 1000).toFixed(0)} s; screenshots in ${ARTIFACTS}\n`);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  process.stdout.write(`browser tests: ${e.stack || e.message}\n`);
  failed += 1;
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  stopAllNow();
  process.exit(1);
});
