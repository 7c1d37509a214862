// The playground loads with CodeMirror served by our own server, and the
// editor types, highlights, numbers, indents, lets the focus go, and keeps
// the code over a reload.

import { cmValue } from '../harness/page.mjs';
import { expect } from '../harness/steps.mjs';

// Typed line by line (no indentation: the editor indents by itself).
export const SCRIPT = [
  'import numpy as np',
  'from PIL import Image',
  'img = Image.open("/input/image.png").convert("RGB")',
  'arr = np.asarray(img)',
  'out = Image.fromarray(255 - arr[::-1])',
  'out = out.resize((img.width // 2, img.height // 2))',
  'out.save("/output/result.png")',
  'print("flipped", img.size, "->", out.size)'
];
export const SCRIPT_TEXT = SCRIPT.join('\n') + '\n';
export const BREAK_LINE = 4; // the line the broken script fails on
export const BREAK_TEXT = ' * missing_scale';

async function loaded(t) {
  const { page, service } = t;
  await page.goto('/');
  await page.waitForSelector('body.editor-codemirror .CodeMirror');
  await page.waitForSelector('#health.health-ok', { timeout: 15000 });
  await expect(await page.isVisible('#preview-img'), 'the sample image is not chosen on a first visit');
  const cmSrc = await page.evaluate(() => [...document.scripts].map((s) => s.src).filter((s) => /codemirror/.test(s)));
  await expect(cmSrc.length >= 2 && cmSrc.every((s) => s.startsWith(service.base)), 'CodeMirror is not served by our server');
}

async function typeScript(page) {
  await page.click('.CodeMirror-code');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  for (const line of SCRIPT) {
    await page.keyboard.type(line);
    await page.keyboard.press('Enter');
  }
  const value = await cmValue(page);
  await expect(value === SCRIPT_TEXT, `the editor holds ${JSON.stringify(value.slice(0, 80))}`);
  await expect(await page.locator('.CodeMirror .cm-keyword').count() > 0, 'no Python highlighting');
  await expect(await page.locator('.CodeMirror-linenumber').count() >= SCRIPT.length, 'no line numbers');
}

// Enter after a colon indents by 4 spaces; then the script is put back.
async function indentsAfterColon(page) {
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
  }, SCRIPT_TEXT);
}

async function typed(t) {
  const { page } = t;
  await typeScript(page);
  await indentsAfterColon(page);
  // Esc, then Tab, leaves the editor (no keyboard trap).
  await page.keyboard.press('Escape');
  await page.keyboard.press('Tab');
  const left = await page.evaluate(() => !document.activeElement.closest('.CodeMirror'));
  await expect(left, 'Esc then Tab did not move the focus out of the editor');
  // Kept between visits.
  await page.waitForTimeout(400);
  await page.reload();
  await page.waitForSelector('.CodeMirror');
  await expect((await cmValue(page)) === SCRIPT_TEXT, 'the code was not kept after a reload');
}

export async function editorSuite(t) {
  await t.check(t.page, 'loaded', () => loaded(t));
  await t.check(t.page, 'typed', () => typed(t));
}
