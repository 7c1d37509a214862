/*
 * Numbers, sizes, times and sentences in words, the same way on both pages.
 */

import { num } from './dom.js';

const KIB = 1024;
const MIB = 1024 * 1024;

// Turns a message from the server into a sentence: capital first, full stop last.
export function sentence(text) {
  let s = String(text).trim();
  if (!s) return '';
  s = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?…]$/.test(s) ? s : s + '.';
}

export function plural(n, one, many) {
  return n + ' ' + (n === 1 ? one : many);
}

// Bytes as sent: multipart/form-data turns every line break into CRLF.
export function byteLength(text) {
  return new TextEncoder().encode(String(text).replace(/\r\n|\r|\n/g, '\r\n')).length;
}

// A size as measured: "812 bytes", "3.4 KiB", "27 KiB", "1.5 MiB".
export function formatBytes(n) {
  if (n < KIB) return n + (n === 1 ? ' byte' : ' bytes');
  if (n < MIB) return (n / KIB).toFixed(n < 10 * KIB ? 1 : 0) + ' KiB';
  return (n / MIB).toFixed(1) + ' MiB';
}

// A limit as set: whole units when it is one ("256 KiB", "10 MiB"), else as measured.
export function formatLimitBytes(n) {
  if (n >= MIB && n % MIB === 0) return n / MIB + ' MiB';
  if (n >= KIB && n % KIB === 0) return n / KIB + ' KiB';
  return formatBytes(n);
}

// A pixel count in megapixels: "40", "0.5", "0.01".
export function formatMegapixels(pixels) {
  return String(Math.round((pixels / 1e6) * 100) / 100 || pixels / 1e6);
}

export function formatDims(width, height) {
  let text = width + ' × ' + height + ' px';
  const mp = (width * height) / 1e6;
  if (mp >= 1) text += ' (' + mp.toFixed(1) + ' MP)';
  return text;
}

// Milliseconds as "0.41 s" (a run's time on the playground).
export function formatSeconds(ms) {
  return (ms / 1000).toFixed(2) + ' s';
}

// Milliseconds as "0.41 s" or "12.3 s", or a dash when unknown (the dashboard).
export function seconds(ms) {
  const v = num(ms);
  if (v == null) return '–';
  return v < 10000 ? (v / 1000).toFixed(2) + ' s' : (v / 1000).toFixed(1) + ' s';
}

// A rate from the server (0..1) as "83%", or a dash when unknown.
export function pct(rate) {
  const r = num(rate);
  return r == null ? '–' : Math.round(r * 100) + '%';
}

export function parseTime(iso) {
  const t = Date.parse(iso);
  return isNaN(t) ? null : t;
}

// An ISO time as the clock time of the day, "14:03:59"; '' when unreadable.
export function formatTime(iso) {
  const d = new Date(iso);
  if (!iso || isNaN(d.getTime())) return '';
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

// An ISO time as "today 14:03" or "3 Mar 14:03"; '' when unreadable.
export function formatWhen(iso) {
  const t = parseTime(iso);
  if (t == null) return '';
  const d = new Date(t);
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === today.toDateString()) return 'today ' + time;
  return d.toLocaleDateString([], { day: 'numeric', month: 'short' }) + ' ' + time;
}
