// The input image: a file that is not an image is refused in words, a PNG is
// previewed with its size, and images pasted or dropped are taken too.

import fs from 'node:fs';
import { makePng } from '../harness/png.mjs';
import { expect } from '../harness/steps.mjs';

async function imageChosen(t) {
  const { page, files } = t;
  await page.setInputFiles('#image-input', files.notPng);
  await page.waitForFunction(() => /not a PNG or JPEG/.test(document.getElementById('image-error').textContent));
  await page.setInputFiles('#image-input', files.png);
  await page.waitForFunction(() => /200 × 150 px/.test(document.getElementById('image-info').textContent));
  await expect(!(await page.isChecked('#use-sample')), 'the sample stayed ticked');
  await expect((await page.textContent('#image-error')).trim() === '', 'the old error stayed');
  const dims = await page.evaluate(() => [document.getElementById('input-img').naturalWidth,
    document.getElementById('input-img').naturalHeight]);
  await expect(dims[0] === 200 && dims[1] === 150, `the input preview is ${dims}`);
}

async function pasteAndDrop(t) {
  const { page, files } = t;
  const bytes = [...makePng(64, 48)];
  await page.evaluate((b) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(b)], 'image.png', { type: 'image/png' }));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, bytes);
  await page.waitForFunction(() => /pasted-image\.png .*64 × 48 px/.test(document.getElementById('image-info').textContent));
  const dropped = [...fs.readFileSync(files.png)];
  await page.evaluate((b) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(b)], 'dropped.png', { type: 'image/png' }));
    const field = document.getElementById('image-field');
    field.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true }));
    field.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, dropped);
  await page.waitForFunction(() => /dropped\.png .*200 × 150 px/.test(document.getElementById('image-info').textContent));
}

export async function imageSuite(t) {
  await t.check(t.page, 'image-chosen', () => imageChosen(t));
  await t.check(t.page, 'image-paste-and-drop', () => pasteAndDrop(t));
}
