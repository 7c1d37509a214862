/*
 * The images a run saved besides result.png (the answer's "outputs", see
 * shared/API.md, "Several result images"): result.png stays the big Output
 * beside the input; the others follow it as a strip, each with its name,
 * dimensions, size and a download link. Images the server refused
 * ("outputs_refused") are listed by name with the reason.
 */

import { isObject, make, setText, show, str, wholeNumber } from '../dom.js';
import { formatBytes, formatDims, plural, sentence } from '../format.js';
import { els } from './els.js';
import { limits } from './limits.js';

const RESULT_NAME = 'result.png';
// The API's names of saved images.
const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

// Only a path of ours under /outputs/ is put into src/href: a host behind
// a front for several (IMGSANDBOX_URL_PREFIX) puts its prefix before it,
// /h1/outputs/...
export function safeOutputUrl(url) {
  return typeof url === 'string' && /^(\/[A-Za-z0-9_-]+)*\/outputs\/[A-Za-z0-9._\/-]+$/.test(url) &&
    url.indexOf('..') === -1 ? url : null;
}

// The outputs of an answer that can be shown: [{name, url, width, height, bytes}].
function readOutputs(result) {
  if (!Array.isArray(result.outputs)) return [];
  return result.outputs.filter(isObject).map(function (o) {
    return { name: str(o.name), url: safeOutputUrl(o.url), width: wholeNumber(o.width),
      height: wholeNumber(o.height), bytes: wholeNumber(o.bytes) };
  }).filter(function (o) { return NAME_RE.test(o.name) && o.url; });
}

function readRefused(result) {
  if (!Array.isArray(result.outputs_refused)) return [];
  return result.outputs_refused.filter(isObject).map(function (o) {
    return { name: str(o.name) || '(no name)', reason: str(o.reason) };
  });
}

// "640 × 480 px · 27 KiB", from what the answer says.
export function describeImage(o) {
  const parts = [];
  if (o.width && o.height) parts.push(formatDims(o.width, o.height));
  if (o.bytes != null) parts.push(formatBytes(o.bytes));
  return parts.join(' · ');
}

function tileImage(o) {
  const frame = make('div', 'frame output-frame');
  const img = make('img', 'output-img');
  img.alt = o.name;
  img.loading = 'lazy';
  img.decoding = 'async';
  img.addEventListener('error', function () {
    show(img, false);
    setText(frame.querySelector('.frame-empty'), 'Could not be loaded');
  });
  img.src = o.url;
  frame.appendChild(img);
  frame.appendChild(make('span', 'frame-empty', 'Loading…'));
  return frame;
}

function outputTile(o) {
  const li = make('li', 'output-tile');
  li.dataset.output = o.name;
  const figure = make('figure', 'output-figure');
  figure.appendChild(tileImage(o));
  const caption = make('figcaption', 'output-caption');
  caption.appendChild(make('span', 'output-name', o.name));
  caption.appendChild(make('span', 'dims output-dims', describeImage(o)));
  figure.appendChild(caption);
  li.appendChild(figure);
  const link = make('a', 'tool-button small output-download', 'Download ' + o.name);
  link.href = o.url;
  link.download = o.name;
  li.appendChild(link);
  return li;
}

function refusedItem(o) {
  const li = make('li', 'refused-item');
  li.dataset.refused = o.name;
  li.appendChild(make('span', 'refused-name', o.name));
  li.appendChild(make('span', 'refused-reason', o.reason ? sentence(o.reason) : 'Refused.'));
  return li;
}

export function clearOutputs() {
  els.outputsList.textContent = '';
  els.outputsRefused.textContent = '';
  show(els.outputsRefusedBox, false);
  show(els.outputsMore, false);
}

// The strip of a finished run (only a success's images are published).
export function showOutputs(result) {
  clearOutputs();
  const others = result.status === 'success'
    ? readOutputs(result).filter(function (o) { return o.name !== RESULT_NAME; }) : [];
  const refused = readRefused(result);
  others.forEach(function (o) { els.outputsList.appendChild(outputTile(o)); });
  refused.forEach(function (o) { els.outputsRefused.appendChild(refusedItem(o)); });
  setText(els.outputsCount, others.length ? plural(others.length, 'image', 'images') : '');
  show(els.outputsList, others.length > 0);
  show(els.outputsRefusedBox, refused.length > 0);
  show(els.outputsMore, others.length > 0 || refused.length > 0);
}

// The line under the result that says how many images a run may save.
export function showOutputsLimit() {
  if (limits.outputFiles) setText(els.outputFilesLimit, String(limits.outputFiles));
}
