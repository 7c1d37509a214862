// The step runner: each check runs one step, screenshots the page after it,
// and counts it as passed or failed with a line on stdout.

import fs from 'node:fs';
import path from 'node:path';

export const tally = { passed: 0, failed: 0, started: Date.now() };

export function log(server, text) {
  process.stdout.write(`[${server}] ${text}\n`);
}

export async function expect(cond, message) {
  if (!cond) throw new Error(message);
}

// Counts a failure outside any step (a service that did not start, a crash).
export function fail(server, text) {
  tally.failed += 1;
  log(server, `FAIL ${text}`);
}

// The line that ends every run of the tests.
export function tallyLine() {
  return `${tally.passed} passed, ${tally.failed} failed`;
}

// A step's error, with word of the service when it stopped meanwhile.
function explain(error, service, artDir) {
  if (!error || !service || service.child.exitCode === null) return error;
  return new Error(`${error.message.split('\n')[0]} -- the service stopped meanwhile (serve.sh ended with ` +
    `${service.child.exitCode}, signal ${service.child.signalCode}; see ${artDir})`);
}

async function screenshot(page, file) {
  try {
    await page.screenshot({ path: file, fullPage: true });
  } catch {
    /* the page may be gone */
  }
}

// A runner of steps behind one server: check(page, name, fn) runs fn,
// screenshots page (when given) as artDir/NN-name.png, and resolves whether
// the step passed. getService() is the service in use, or null.
export function makeChecker(server, artDir, getService) {
  let shot = 0;
  return async function check(page, name, fn) {
    const service = getService();
    if (service && service.child.exitCode !== null) {
      fail(server, `${name}: the service is gone (serve.sh ended with ${service.child.exitCode}; see ${artDir})`);
      return false;
    }
    const t0 = Date.now();
    let error = null;
    try {
      await fn();
    } catch (e) {
      error = explain(e, service, artDir);
    }
    if (page) await screenshot(page, path.join(artDir, `${String(++shot).padStart(2, '0')}-${name}.png`));
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (error) fail(server, `${name} (${secs} s): ${error.message.split('\n')[0]}`);
    else {
      tally.passed += 1;
      log(server, `ok   ${name} (${secs} s)`);
    }
    return !error;
  };
}

// A fresh folder for one server's screenshots and logs.
export function freshDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
