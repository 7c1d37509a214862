// Services started here with `fcgi/serve.sh` (real web server, responders,
// dockerd, SQLite), each on a free port with a fresh data folder, in its own
// process group, and stopped on every way out.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, SLOW, TIMEOUT_MS } from './config.mjs';

const services = new Set();

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function stopAllNow() {
  for (const s of services) killGroup(s.child.pid, 'SIGKILL');
}

// Stops the services on exit and on SIGINT, SIGTERM, SIGHUP.
export function stopServicesOnExit() {
  process.on('exit', stopAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stdout.write(`browser tests: ${sig}, stopping the services\n`);
      stopAllNow();
      process.exit(130);
    });
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, child, ms) {
  const until = Date.now() + ms;
  let last = '';
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`serve.sh ended with status ${child.exitCode}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer in ${ms / 1000} s (${last})`);
}

// Runs serve.sh for server with IMGSANDBOX_* settings env; its output goes to logPath.
// No settings file unless the environment names one, as in the integration
// suite: an installed package's /etc/imgsandbox/imgsandbox.conf (the
// machine's own service, or test_deb's) is not this checkout's.
function spawnServe(server, port, data, env, logPath) {
  const out = fs.openSync(logPath, 'w');
  const child = spawn(path.join(ROOT, 'fcgi', 'serve.sh'), [], {
    cwd: ROOT,
    env: {
      ...process.env, PORT: String(port), SERVER: server, IMGSANDBOX_DATA: data, START_DOCKERD: 'no',
      IMGSANDBOX_TIMEOUT_MS: TIMEOUT_MS, IMGSANDBOX_CONFIG_FILE: process.env.IMGSANDBOX_CONFIG_FILE ?? '', ...env
    },
    detached: true, // its own process group: stopped as a whole
    stdio: ['ignore', out, out]
  });
  fs.closeSync(out);
  return child;
}

// Starts a service behind server ('lighttpd', 'nginx' or 'apache') with extra settings
// env; its log goes to artDir/<name>.log. Resolves {server, port, data, child, base}.
export async function startService(server, artDir, env = {}, name = 'serve') {
  const port = await freePort();
  const data = fs.mkdtempSync(path.join(os.tmpdir(), `imgsandbox-browser-${server}-`));
  const logPath = path.join(artDir, `${name}.log`);
  const child = spawnServe(server, port, data, env, logPath);
  const service = { server, port, data, child, base: `http://127.0.0.1:${port}` };
  services.add(service);
  service.exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    await waitForHttp(`${service.base}/`, child, 60000);
    await waitForHttp(`${service.base}/api/health`, child, Math.round(30000 * SLOW));
  } catch (e) {
    await stopService(service);
    fs.rmSync(data, { recursive: true, force: true }); // nobody else will: the caller gets no service
    throw new Error(`${server} did not start: ${e.message} (see ${logPath})`);
  }
  return service;
}

export async function stopService(service) {
  if (!services.has(service)) return;
  killGroup(service.child.pid, 'SIGTERM');
  const done = await Promise.race([
    service.exited.then(() => true),
    new Promise((r) => setTimeout(() => r(false), 10000))
  ]);
  // serve.sh stops its children on SIGTERM; anything left gets SIGKILL.
  killGroup(service.child.pid, 'SIGKILL');
  if (!done) await Promise.race([service.exited, new Promise((r) => setTimeout(r, 2000))]);
  services.delete(service);
}

// Copies the service's own logs into artDir (prefix before each name), stops it, removes its data.
export async function endService(service, artDir, prefix = '') {
  try {
    const run = path.join(service.data, `run-${service.server}-${service.port}`);
    for (const f of fs.readdirSync(run)) {
      if (f.endsWith('.log')) fs.copyFileSync(path.join(run, f), path.join(artDir, prefix + f));
    }
  } catch {
    /* nothing to keep */
  }
  await stopService(service);
  fs.rmSync(service.data, { recursive: true, force: true });
}

// The stand-in model (tests/integration/ai_standin.py: an OpenAI-compatible
// chat-completions server, Python's standard library only) on a free
// loopback port in its own process group, stopped with the services.
// Resolves {url, child, load(replies), requests()}: the service's
// IMGSANDBOX_AI_URL, the replies it gives in order (ai_standin.py's header
// says their shape; loading forgets the requests recorded), and every
// request it recorded.
export async function startStandin() {
  const child = spawn('/usr/bin/python3', [path.join(ROOT, 'tests', 'integration', 'ai_standin.py'), '--port', '0'], {
    detached: true, stdio: ['ignore', 'pipe', 'inherit']
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^port (\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`the stand-in model ended with ${code} before it said its port`)));
  });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, p, body) => (await fetch(base + p, { method, body: body && JSON.stringify(body) })).json();
  const standin = {
    child, url: `${base}/v1`, exited: new Promise((resolve) => child.on('exit', resolve)),
    load: async (replies) => {
      await call('POST', '/_standin/reset', {});
      return call('PUT', '/_standin/replies', replies);
    },
    requests: () => call('GET', '/_standin/requests')
  };
  services.add(standin);
  return standin;
}

export async function stopStandin(standin) {
  if (!services.has(standin)) return;
  killGroup(standin.child.pid, 'SIGTERM');
  await Promise.race([standin.exited, new Promise((r) => setTimeout(r, 5000))]);
  killGroup(standin.child.pid, 'SIGKILL');
  services.delete(standin);
}
