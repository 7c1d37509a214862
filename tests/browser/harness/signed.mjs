// What the service's key signs (shared/base/secret.c): its session ids and
// the assistant's tokens, made here with the service's own key file
// (DATA/secret.key), for a suite that posts runs as the page does once the
// assistant has answered, without a model to ask.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// The service's HMAC of parts under domain: "imgsandbox <domain>", then
// each part after its length.
function signed(key, domain, parts) {
  const chunks = [Buffer.from('imgsandbox ' + domain)];
  for (const p of parts) {
    const b = Buffer.from(p);
    chunks.push(Buffer.from('\n' + b.length + ':'), b);
  }
  return crypto.createHmac('sha256', key).update(Buffer.concat(chunks)).digest('hex');
}

function keyOf(service) {
  return fs.readFileSync(path.join(service.data, 'secret.key'));
}

// A session id as the service issues them.
export function newSession(service) {
  const rnd = crypto.randomBytes(16).toString('hex');
  return rnd + signed(keyOf(service), 'session', [rnd]).slice(0, 32);
}

// The token POST /api/assist answers with code written by model (lessons: true or false) for session.
export function aiToken(service, session, model, lessons, code) {
  const sha = crypto.createHash('sha256').update(code.replace(/\r\n/g, '\n')).digest('hex');
  return signed(keyOf(service), 'ai-token', [session, model, lessons ? '1' : '0', sha]).slice(0, 32);
}
