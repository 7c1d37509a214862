// What the browser tests are run with: paths, the environment's choices,
// and the time limits.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const ROOT = path.resolve(HERE, '..', '..', '..');
export const ARTIFACTS = path.join(ROOT, 'build', 'artifacts', 'browser');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SERVERS = (process.env.SERVERS || 'lighttpd,nginx,apache').split(',').map((s) => s.trim()).filter(Boolean);
// Which server runs which example: by default they are shared out (each
// runs once, in parallel halves); "all" runs every one behind every server.
export const EXAMPLES_ON = process.env.EXAMPLES_ON || 'split';
export const SERIAL = !!process.env.SERIAL;
// The engine's bare start on this machine (a hardened `docker run` of
// print(1)), timed once as the integration suite times it
// (tests/integration/harness.py --engine). The suite's deadline and the
// waits that a slow machine lengthens are multiplied by SLOW, how much
// slower than a 0.3 s start it is: under a CPU-bound loop on each core
// (0.99 s) the suite went past a fixed 300 s, and a page that showed a
// script's first line only after its 2 s sleep had ended failed.
function measureEngine() {
  const r = spawnSync('/usr/bin/python3', [path.join(ROOT, 'tests', 'integration', 'harness.py'), '--engine'],
    { encoding: 'utf8', timeout: 300000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()).start_s;
  } catch {
    process.stdout.write(`browser tests: the engine's start could not be timed (${(r.stderr || '').slice(-300)}); taken as 1 s\n`);
    return 1.0;
  }
}
export const ENGINE_START_S = Number(process.env.ENGINE_START_S) || measureEngine();
export const SLOW = Math.max(1, ENGINE_START_S / 0.3);
export const SUITE_DEADLINE_MS = Number(process.env.SUITE_DEADLINE_MS || Math.round(300000 * SLOW));
export const RUN_TIMEOUT_MS = Math.round(90000 * SLOW); // one run through the page, queueing included
// These tests are about the page: a loaded test machine must not turn a
// simple script into a timeout (the time limit has its own tests).
export const TIMEOUT_MS = process.env.IMGSANDBOX_TIMEOUT_MS || '30000';
