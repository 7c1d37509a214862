// A run as it goes (shared/API.md, "Live output" and "Several result
// images"): what the script prints is on the page before the run ends, the
// phases are shown in words, Stop cancels a run, and every image a script
// saved is shown in a strip with a download link, a refused one with its
// reason.

import fs from 'node:fs';
import { phaseSteps, runAndWait, runEnded, setCode, startRun } from '../harness/page.mjs';
import { expect } from '../harness/steps.mjs';
import { SLOW } from '../harness/config.mjs';

const PRINT_SLEEP_PRINT = [
  'import sys, time',
  'print("first line", flush=True)',
  'print("a warning", file=sys.stderr, flush=True)',
  // Long enough for a loaded page to show the first line while it sleeps.
  `time.sleep(${(2 * SLOW).toFixed(1)})`,
  'print("second line")',
  'from PIL import Image',
  'Image.new("RGB", (32, 24), "teal").save("/output/result.png")'
].join('\n') + '\n';

const SLEEPER = 'import time\nprint("sleeping", flush=True)\ntime.sleep(120)\n';

// result.png and two more images of known sizes, and a ".png" that is text.
const SEVERAL_IMAGES = [
  'from PIL import Image',
  'Image.new("RGB", (120, 90), "navy").save("/output/result.png")',
  'Image.new("RGB", (40, 30), "orange").save("/output/small.png")',
  'Image.new("L", (64, 48), 128).save("/output/gray.jpg")',
  'open("/output/fake.png", "w").write("this is text, not a PNG\\n")',
  'print("saved 4 files")'
].join('\n') + '\n';
const MORE_IMAGES = { 'small.png': '40 × 30 px', 'gray.jpg': '64 × 48 px' };

// The page while the run is under way, the moment the first line is shown.
function snapshot(page) {
  return page.evaluate(() => ({
    stdout: document.getElementById('stdout').textContent,
    stderr: document.getElementById('stderr').textContent,
    running: document.getElementById('run').classList.contains('running'),
    statusCls: document.getElementById('status').className,
    statusText: document.getElementById('status').textContent,
    stopVisible: !document.getElementById('stop').hidden
  }));
}

async function liveOutput(t) {
  const { page, server } = t;
  await setCode(page, PRINT_SLEEP_PRINT);
  let seen = null;
  const status = await runAndWait(page, server, 'button', null, async () => {
    await page.waitForFunction(() => document.getElementById('stdout').textContent.includes('first line') &&
      document.getElementById('stderr').textContent.includes('a warning'), null, { timeout: 60000 });
    seen = await snapshot(page);
    t.midSteps = await phaseSteps(page);
    // The clocks run while the script sleeps: the run's and its running step's.
    await page.waitForFunction(() => document.getElementById('run').classList.contains('running') &&
      parseFloat(document.getElementById('elapsed').textContent) >= 1 &&
      parseFloat(document.querySelector('#phases [aria-current="step"] .phase-time').textContent) >= 1, null,
    { timeout: Math.round(10000 * SLOW) });
  });
  await expect(seen && !seen.stdout.includes('second line'), `both lines came at once: ${JSON.stringify(seen)}`);
  await expect(seen.running && /status-busy/.test(seen.statusCls) && seen.stopVisible,
    `the run was over when its first line showed: ${JSON.stringify(seen)}`);
  await expect(/status-ok/.test(status.cls), `the run did not succeed: ${status.text}`);
  const out = await page.textContent('#stdout');
  await expect(out === 'first line\nsecond line\n', `stdout at the end: ${JSON.stringify(out)}`);
  const err = await page.textContent('#stderr');
  await expect(err === 'a warning\n', `stderr at the end: ${JSON.stringify(err)}`);
}

// The phases of the run above: said in words while it ran, kept after it.
async function phases(t) {
  const { page } = t;
  const mid = t.midSteps || [];
  const now = mid.find((s) => s.current);
  await expect(now && now.phase === 'running' && /Running the script/.test(now.text),
    `the phase while the script printed: ${JSON.stringify(mid)}`);
  const steps = await phaseSteps(page);
  const names = steps.map((s) => s.phase);
  await expect(names.includes('queued') || names.includes('starting'), `no queued or starting step: ${names}`);
  await expect(names.includes('running') && names.includes('checking'), `steps: ${names}`);
  const last = steps[steps.length - 1];
  await expect(last.phase === 'end' && last.text === 'Success', `the last step: ${JSON.stringify(last)}`);
  await expect(steps.every((s) => !s.current), 'a step is still marked current after the run');
  const running = steps.find((s) => s.phase === 'running');
  await expect(/Running the script\s*\d+\.\d s$/.test(running.text), `the running step has no time: ${running.text}`);
  const live = await page.evaluate(() => document.getElementById('status').getAttribute('aria-live'));
  await expect(live === 'polite', `the status line is aria-live=${live}`);
}

// The HTTP status of the page's next DELETE /api/jobs/<job_id>; 0 when none came.
function nextCancel(page) {
  return page.waitForResponse((r) => r.request().method() === 'DELETE' &&
    /^\/api\/jobs\/[0-9a-f]{32}$/.test(new URL(r.url()).pathname), { timeout: 20000 })
    .then((r) => r.status(), () => 0);
}

async function stop(t) {
  const { page } = t;
  await setCode(page, SLEEPER);
  await startRun(page);
  await page.waitForFunction(() => document.getElementById('stdout').textContent.includes('sleeping'), null,
    { timeout: 60000 });
  // By keyboard: the Stop button takes the focus and Enter presses it.
  const cancel = nextCancel(page);
  await page.focus('#stop');
  await page.keyboard.press('Enter');
  // The sandbox's time limit is 30 s here: a run Stop did not end would time out.
  const status = await runEnded(page, 20000);
  await expect(/status-stopped/.test(status.cls) && /^Cancelled/.test(status.text), `the status: ${status.text}`);
  const answer = await cancel;
  await expect(answer === 202, `DELETE /api/jobs/<job_id> answered ${answer}`);
  const steps = await phaseSteps(page);
  await expect(steps.length && steps[steps.length - 1].text === 'Cancelled', `steps: ${JSON.stringify(steps)}`);
  await expect(await page.isHidden('#stop'), 'Stop is still shown');
  await expect(await page.evaluate(() => document.activeElement.id) === 'run', 'the focus did not go back to Run');
  await expect((await page.textContent('#stdout')) === 'sleeping\n', 'what the script printed is gone');
  // The server logged it as cancelled, and the history says so.
  await page.waitForFunction(() => {
    const items = document.querySelectorAll('#history-list .history-item');
    return items.length && items[items.length - 1].classList.contains('status-cancelled');
  }, null, { timeout: 10000 });
  await expect(/Cancelled/.test(await page.textContent('#history-list .history-item:last-child .badge')),
    'the history has no "Cancelled" badge');
}

// After Stop the page runs the next script as usual.
async function afterStop(t) {
  await setCode(t.page, 'print("after stop")\nfrom PIL import Image\nImage.new("RGB", (8, 8)).save("/output/result.png")\n');
  const status = await runAndWait(t.page, t.server);
  await expect(/status-ok/.test(status.cls), `the run after Stop: ${status.text}`);
  await expect((await t.page.textContent('#stdout')) === 'after stop\n', 'stdout of the run after Stop');
}

// The images in the order the page shows them: [{name, width, dims, href, download}].
function shownImages(page) {
  return page.$$eval('#result-figure[data-output], #outputs-list [data-output]', (ls) => ls.map((l) => {
    const img = l.querySelector('img');
    const link = l.querySelector('a.output-download');
    return {
      name: l.dataset.output, width: img.getBoundingClientRect().width, natural: img.naturalWidth,
      dims: (l.querySelector('.dims') || {}).textContent || '',
      href: link && !link.hidden ? link.getAttribute('href') : null,
      download: link ? link.getAttribute('download') : null
    };
  }));
}

// Clicks the download link of an image; resolves the file's name and first bytes.
async function download(page, name) {
  const link = name === 'result.png' ? page.locator('#download')
    : page.locator(`#outputs-list [data-output="${name}"] a.output-download`);
  const [got] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), link.click()]);
  const file = await got.path();
  return { name: got.suggestedFilename(), head: fs.readFileSync(file).subarray(0, 4) };
}

function isImageHead(head, name) {
  if (/\.png$/.test(name)) return head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  return head[0] === 0xff && head[1] === 0xd8;
}

async function severalImages(t) {
  const { page, server } = t;
  await setCode(page, SEVERAL_IMAGES);
  const status = await runAndWait(page, server);
  await expect(/status-ok/.test(status.cls), `the run did not succeed: ${status.text}`);
  await page.waitForFunction(() => [...document.querySelectorAll('#result-figure img, #outputs-list img')]
    .every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 15000 });
  const shown = await shownImages(page);
  const names = shown.map((s) => s.name);
  await expect(names.length === 3 && names[0] === 'result.png' && names.slice(1).sort().join() === 'gray.jpg,small.png',
    `the images shown: ${names}`);
  await expect(shown.slice(1).every((s) => s.width < shown[0].width), `result.png is not the largest: ${JSON.stringify(shown)}`);
  await expect(/120 × 90 px/.test(shown[0].dims), `result.png's dimensions: ${shown[0].dims}`);
  for (const s of shown.slice(1)) {
    await expect(s.dims.includes(MORE_IMAGES[s.name]), `${s.name}'s dimensions: ${s.dims}`);
    await expect(s.natural > 0, `${s.name} did not load`);
  }
  for (const s of shown) {
    await expect(new RegExp(`^/outputs/[0-9a-f]{32}/${s.name.replace('.', '\\.')}$`).test(s.href || '') &&
      s.download === s.name, `${s.name}'s link: ${s.href} download=${s.download}`);
    const got = await download(page, s.name);
    await expect(got.name === s.name && isImageHead(got.head, s.name), `${s.name} downloaded as ${got.name}, ${got.head.toString('hex')}`);
  }
}

async function refusedImage(t) {
  const { page } = t;
  await expect(await page.isVisible('#outputs-refused-box'), 'no list of refused images');
  const items = await page.$$eval('#outputs-refused li', (ls) => ls.map((l) => ({
    name: l.dataset.refused, text: l.textContent
  })));
  await expect(items.length === 1 && items[0].name === 'fake.png', `refused: ${JSON.stringify(items)}`);
  await expect(/not a valid PNG|not a PNG or JPEG/i.test(items[0].text), `the reason: ${items[0].text}`);
  const shown = await page.$$eval('#outputs-list [data-output]', (ls) => ls.map((l) => l.dataset.output));
  await expect(!shown.includes('fake.png'), 'the refused image is in the strip');
}

// Which result URLs the page puts into src/href (static/js/playground/
// outputs.js): ours, also under a host's prefix as a front for several
// hosts gives them (/h1/outputs/...); nothing else.
async function outputUrls(page) {
  const got = await page.evaluate(async () => {
    const { safeOutputUrl } = await import('/js/playground/outputs.js');
    const urls = ['/outputs/0123456789abcdef0123456789abcdef/result.png',
      '/h1/outputs/0123456789abcdef0123456789abcdef/gray.jpg', '/east-2/outputs/ab/c.png',
      'https://evil.example/outputs/a/b.png', '//evil.example/outputs/a/b.png',
      '/outputs/../log.db', '/h1/../outputs/a/b.png', 'javascript:alert(1)', '/h 1/outputs/a/b.png',
      '/h1/results/a/b.png', 42, null];
    return urls.map((u) => safeOutputUrl(u) !== null);
  });
  const want = [true, true, true, false, false, false, false, false, false, false, false, false];
  await expect(JSON.stringify(got) === JSON.stringify(want), `result URLs taken: ${JSON.stringify(got)}`);
}

// The page's event-stream parser (static/js/sse.js), in the browser, on a
// stream cut at awkward places: inside a CRLF, a field name, a UTF-8 text.
async function sseParser(page) {
  const got = await page.evaluate(async () => {
    const { eventParser } = await import('/js/sse.js');
    const events = [];
    const p = eventParser((type, data) => events.push([type, data]));
    const stream = ': ping\r\n\r\nevent: job\r\ndata: {"a":1}\r\n\r\nevent:stdout\ndata: é\ndata:  two\n\n' +
      'data: plain\r\rid: 7\nretry: 10\nevent: done\ndata: {}\n\nevent: cut\ndata: never';
    for (const piece of stream.match(/[\s\S]{1,3}/g)) p.push(piece);
    p.end();
    return events;
  });
  const want = [['job', '{"a":1}'], ['stdout', 'é\n two'], ['message', 'plain'], ['done', '{}']];
  await expect(JSON.stringify(got) === JSON.stringify(want), `the parser read ${JSON.stringify(got)}`);
}

export async function liveSuite(t) {
  const { page } = t;
  await t.check(null, 'sse-parser', () => sseParser(page));
  await t.check(null, 'output-urls', () => outputUrls(page));
  await page.click('#new-session');
  await t.check(page, 'live-output', () => liveOutput(t));
  await t.check(page, 'live-phases', () => phases(t));
  await t.check(page, 'stop', () => stop(t));
  await t.check(page, 'after-stop', () => afterStop(t));
  await t.check(page, 'several-images', () => severalImages(t));
  await t.check(page, 'refused-image', () => refusedImage(t));
}
