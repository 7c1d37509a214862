// Debian's headless Chromium (never a downloaded browser), driven by
// playwright-core, with every CSP violation, console error and page error
// of a page written down.

import { chromium } from 'playwright-core';
import { CHROMIUM } from './config.mjs';

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic'
];

// A browser context of its own (profile in dir) on the service at base.
export function launchContext(dir, base) {
  return chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
    permissions: ['clipboard-read', 'clipboard-write'],
    baseURL: base
  });
}

// The context's first page, with what goes wrong on it pushed to problems
// as text: CSP violations (from the page's own event), console errors (all,
// unless consoleErrors is false: then only those about the CSP), page errors.
export async function watchedPage(context, problems, consoleErrors = true) {
  const page = context.pages()[0] || (await context.newPage());
  await page.exposeFunction('__cspViolation', (text) => problems.push(`CSP: ${text}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  page.on('console', (m) => {
    const csp = /Content.Security.Policy/i.test(m.text());
    if ((consoleErrors && m.type() === 'error') || csp) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return page;
}
