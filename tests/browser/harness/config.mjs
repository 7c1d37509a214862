// What the browser tests are run with: paths, the environment's choices,
// and the time limits.

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
export const SUITE_DEADLINE_MS = Number(process.env.SUITE_DEADLINE_MS || 300000);
export const RUN_TIMEOUT_MS = 90000; // one run through the page, queueing included
// These tests are about the page: a loaded test machine must not turn a
// simple script into a timeout (the time limit has its own tests).
export const TIMEOUT_MS = process.env.IMGSANDBOX_TIMEOUT_MS || '30000';
