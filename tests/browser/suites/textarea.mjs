// The plain text box when CodeMirror is missing (its files blocked): Tab
// indents, a failing run marks the box, "Go to line" selects the line.

import { runAndWait } from '../harness/page.mjs';
import { expect } from '../harness/steps.mjs';

async function textareaFallback(plain, server) {
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
}

export async function textareaSuite(t) {
  const plain = await t.context.newPage();
  await plain.setViewportSize({ width: 1200, height: 900 });
  await t.check(plain, 'textarea-fallback', () => textareaFallback(plain, t.server));
  await plain.close();
}
