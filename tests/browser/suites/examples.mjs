// The starter examples: the menu by keyboard and mouse, and each example
// run on the sample image (shared out between the servers by default).

import { EXAMPLES_ON, SERVERS } from '../harness/config.mjs';
import { runAndWait } from '../harness/page.mjs';
import { expect } from '../harness/steps.mjs';

const EXAMPLES = [
  { title: 'Grayscale', marker: 'ImageOps.grayscale', stdout: 'Grayscale of' },
  { title: 'Blur', marker: 'ImageFilter.GaussianBlur', stdout: 'Blurred' },
  { title: 'Edges', marker: 'cv2.Canny', stdout: 'Edge pixels' },
  { title: 'Threshold', marker: 'filters.threshold_otsu', stdout: 'Otsu threshold' },
  { title: 'Draw text', marker: 'ImageDraw.Draw', stdout: 'Drew' }
];

// The examples this server runs.
function examplesFor(server) {
  return EXAMPLES.filter((_, i) => EXAMPLES_ON === 'all' || EXAMPLES_ON === server ||
    (EXAMPLES_ON === 'split' && SERVERS[i % SERVERS.length] === server));
}

async function examplesMenu(page) {
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
}

async function runExample(t, ex) {
  const { page, server } = t;
  await page.click('#examples-button');
  await page.click(`#examples-menu [role="menuitem"]:has-text("${ex.title}")`);
  await page.waitForFunction((m) => document.querySelector('.CodeMirror').CodeMirror.getValue().includes(m), ex.marker);
  await expect(await page.isHidden('#examples-menu'), 'the menu stayed open');
  const status = await runAndWait(page, server);
  await expect(/status-ok/.test(status.cls), `the example failed: ${status.text} ${await page.textContent('#error')}`);
  await page.waitForFunction(() => document.getElementById('result-img').naturalWidth === 640 &&
    document.getElementById('result-img').naturalHeight === 480);
  await expect((await page.textContent('#stdout')).includes(ex.stdout), 'unexpected stdout');
}

export async function examplesSuite(t) {
  const mine = examplesFor(t.server);
  if (!mine.length) return;
  const { page } = t;
  // Their own session: a success here would count as the fix of the failure before.
  await page.click('#new-session');
  await page.check('#use-sample');
  await t.check(page, 'examples-menu', () => examplesMenu(page));
  await page.click('#examples-button');
  for (const ex of mine) {
    await t.check(page, `example-${ex.title.toLowerCase().replace(/\W+/g, '-')}`, () => runExample(t, ex));
  }
}
