// Browser tests of the page (static/index.html, static/dashboard.html) in
// Debian's headless Chromium, driven by playwright-core (no browser is ever
// downloaded), against the real service behind lighttpd AND nginx.
//
// For each server it starts `fcgi/serve.sh` itself on a free port with a fresh
// data folder (real responders, real dockerd, real SQLite), then: types a
// script in the editor, uploads a PNG made here, runs it and sees the result,
// breaks the script and sees the failing line highlighted, fixes it, sees the
// attempts in the session history, sees output as the script prints it, the
// run's phases, Stop, and several result images, runs the starter examples, opens the
// dashboard and sees its chart and the server's figures, and checks that
// nothing broke the CSP. Then a second service with small limits: the page
// takes them from GET /api/limits and refuses what is over them before
// sending, and the dashboard keeps the server's figures when the log holds
// more failures than a page. Then a third service with the stand-in model
// (suites/assist.mjs): describe, Generate, Fix with AI, the automatic loop,
// the diff, the model's failures said, and the dashboard seen from a host
// that is not the operator's. Screenshots of every step:
// build/artifacts/browser/<server>/NN-step.png.
//
//   cd tests/browser && npm ci && node run.mjs
//   SERVERS=nginx node run.mjs          (one server)
//   EXAMPLES_ON=all node run.mjs        (every example behind every server; default: shared out)
//   SERIAL=1 node run.mjs               (one server after the other)
//
// Needs `make all`, the runner image and a running dockerd (what `make test`
// guarantees), chromium (apt-get install chromium). Ends with the line
// "N passed, M failed" and a non-zero exit status when something failed.
//
// The rooms: harness/ (config, services, browser, steps, page helpers, PNGs)
// and suites/ (one file per area of the page, in the order they run).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchContext, watchedPage } from './harness/browser.mjs';
import { ARTIFACTS, CHROMIUM, ENGINE_START_S, SERIAL, SERVERS, SLOW, SUITE_DEADLINE_MS } from './harness/config.mjs';
import { makePng } from './harness/png.mjs';
import { endService, startService, stopAllNow, stopServicesOnExit } from './harness/services.mjs';
import { expect, fail, freshDir, log, makeChecker, tally, tallyLine } from './harness/steps.mjs';
import { assistService } from './suites/assist.mjs';
import { dashboardSuite } from './suites/dashboard.mjs';
import { editorSuite } from './suites/editor.mjs';
import { examplesSuite } from './suites/examples.mjs';
import { imageSuite } from './suites/image.mjs';
import { LIMITS_ENV, limitsSuite } from './suites/limits.mjs';
import { liveSuite } from './suites/live.mjs';
import { phoneSuite } from './suites/phone.mjs';
import { runSuite } from './suites/run.mjs';
import { textareaSuite } from './suites/textarea.mjs';

// The files the playground's steps choose.
function writeInputs(artDir) {
  const files = { png: path.join(artDir, 'input-200x150.png'), notPng: path.join(artDir, 'not-an-image.png') };
  fs.writeFileSync(files.png, makePng(200, 150));
  fs.writeFileSync(files.notPng, 'this is text, not a PNG\n');
  return files;
}

function noProblems(t) {
  return t.check(null, `${t.prefix}no-csp-violations-or-errors`, async () => {
    await expect(t.problems.length === 0, t.problems.slice(0, 5).join(' | '));
  });
}

// The steps on the service with the default limits, in order: each leaves
// the page (and the log) as the next one expects.
async function mainSteps(t) {
  t.files = writeInputs(t.artDir);
  await editorSuite(t);
  await imageSuite(t);
  await runSuite(t);
  await liveSuite(t);
  await examplesSuite(t);
  await dashboardSuite(t);
  await phoneSuite(t);
  await noProblems(t);
  await textareaSuite(t);
}

async function limitsSteps(t) {
  await limitsSuite(t);
  await noProblems(t);
}

// Starts a service behind server (settings env), a browser on it, runs
// steps(t) with t = {server, service, context, page, problems, check, artDir,
// prefix}, and ends them all whatever happened.
async function withService(server, check, current, how, steps) {
  const artDir = path.join(ARTIFACTS, server);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `imgsandbox-chromium-${server}-`));
  let service = null;
  let context = null;
  try {
    service = await startService(server, artDir, how.env, `${how.prefix}serve`);
    current.service = service;
    log(server, `service on ${service.base} (data ${service.data})${how.prefix ? ` for the ${how.prefix.slice(0, -1)} steps` : ''}`);
    context = await launchContext(dir, service.base);
    const problems = [];
    const page = await watchedPage(context, problems);
    await steps({ server, service, context, page, problems, check, artDir, prefix: how.prefix });
  } catch (e) {
    fail(server, service ? `(unexpected): ${e.stack || e.message}` : `start: ${e.message}`);
  } finally {
    if (context) await context.close().catch(() => {});
    if (service) await endService(service, artDir, how.prefix);
    current.service = null;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Every step behind one server: the main service, the one with small limits, the one with a model.
async function testServer(server) {
  const artDir = freshDir(path.join(ARTIFACTS, server));
  const current = { service: null };
  const check = makeChecker(server, artDir, () => current.service);
  await withService(server, check, current, { env: null, prefix: '' }, mainSteps);
  await withService(server, check, current, { env: LIMITS_ENV, prefix: 'limits-' }, limitsSteps);
  await assistService(server, (how, steps) => withService(server, check, current, how, steps));
}

function finish(code) {
  process.stdout.write(`${tallyLine()}\n`);
  process.exit(code);
}

async function main() {
  if (!fs.existsSync(CHROMIUM)) {
    process.stdout.write(`browser tests: ${CHROMIUM} is missing: apt-get install chromium (never downloaded here)\n`);
    tally.failed += 1;
    finish(1);
  }
  stopServicesOnExit();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  process.stdout.write(`browser tests: the engine's bare start ${ENGINE_START_S.toFixed(2)} s here; ` +
    `waits x${SLOW.toFixed(1)}, the suite's deadline ${(SUITE_DEADLINE_MS / 1000).toFixed(0)} s\n`);
  const watchdog = setTimeout(() => {
    process.stdout.write(`browser tests: over ${SUITE_DEADLINE_MS / 1000} s, stopping\n`);
    tally.failed += 1;
    stopAllNow();
    finish(1);
  }, SUITE_DEADLINE_MS);
  if (SERIAL) {
    for (const s of SERVERS) await testServer(s);
  } else {
    await Promise.all(SERVERS.map(testServer));
  }
  clearTimeout(watchdog);
  process.stdout.write(`browser tests: ${((Date.now() - tally.started) / 1000).toFixed(0)} s; screenshots in ${ARTIFACTS}\n`);
  finish(tally.failed ? 1 : 0);
}

main().catch((e) => {
  process.stdout.write(`browser tests: ${e.stack || e.message}\n`);
  tally.failed += 1;
  stopAllNow();
  finish(1);
});
