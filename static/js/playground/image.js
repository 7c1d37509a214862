/*
 * The input image: the sample, or a file chosen, dropped or pasted (see
 * image-drop.js), checked before it is accepted (image-check.js), shown in
 * the preview and beside the result.
 */

import { setText, show } from '../dom.js';
import { formatBytes, formatDims, formatLimitBytes, formatMegapixels } from '../format.js';
import { checkImageFile } from './image-check.js';
import { els } from './els.js';
import { limits } from './limits.js';

const SAMPLE_URL = 'sample.png';

// What will be sent: null, {kind: 'sample'} or {kind: 'file', file, url, width, height}.
let source = null;
let checkToken = 0;

export function currentSource() {
  return source;
}

function setSource(next) {
  const old = source;
  source = next;
  if (old && old.kind === 'file' && (!next || next.url !== old.url)) URL.revokeObjectURL(old.url);
  renderSource();
}

function renderSource() {
  const url = source ? (source.kind === 'sample' ? SAMPLE_URL : source.url) : null;
  [els.previewImg, els.inputImg].forEach(function (img) {
    if (url) img.src = url;
    else img.removeAttribute('src');
    show(img, !!url);
  });
  els.useSample.checked = !!source && source.kind === 'sample';
  els.imageField.classList.toggle('has-image', !!source);
  if (!source) {
    setText(els.imageInfo, 'No image chosen. Choose a file, drop one here, or use the sample image.');
    setText(els.inputDims, '');
  } else if (source.kind === 'file') {
    setText(els.imageInfo, source.file.name + ' · ' + formatBytes(source.file.size) + ' · ' +
      formatDims(source.width, source.height));
    setText(els.inputDims, formatDims(source.width, source.height));
  } else {
    setText(els.imageInfo, 'Sample image (sample.png)');
    setText(els.inputDims, '');
  }
}

function onSampleLoaded() {
  if (!source || source.kind !== 'sample') return;
  const dims = formatDims(els.previewImg.naturalWidth, els.previewImg.naturalHeight);
  setText(els.imageInfo, 'Sample image (sample.png) · ' + dims);
  setText(els.inputDims, dims);
}

function onSampleFailed() {
  if (source && source.kind === 'sample') setText(els.imageInfo, 'The sample image could not be loaded.');
}

function setImageError(message) {
  setText(els.imageError, message || '');
  els.imageField.classList.toggle('invalid', !!message);
}

// Takes a file (or null: none) as the input image once it passes the checks.
export async function chooseFile(file) {
  const token = ++checkToken;
  setImageError('');
  if (!file) {
    if (!source || source.kind === 'file') setSource(null);
    return;
  }
  setText(els.imageInfo, 'Checking ' + file.name + '…');
  let checked;
  try {
    checked = await checkImageFile(file);
  } catch (e) {
    checked = { error: '“' + file.name + '” could not be read.' };
  }
  if (token !== checkToken) {
    if (checked.url) URL.revokeObjectURL(checked.url);
    return; // another choice came in meanwhile
  }
  if (checked.error) {
    els.imageInput.value = '';
    setSource(null);
    setImageError(checked.error);
    return;
  }
  setSource({ kind: 'file', file: file, url: checked.url, width: checked.width, height: checked.height });
}

export function onFileInput() {
  const file = els.imageInput.files && els.imageInput.files[0];
  chooseFile(file || null);
}

export function onSampleToggle() {
  checkToken++;
  setImageError('');
  if (els.useSample.checked) {
    els.imageInput.value = '';
    setSource({ kind: 'sample' });
  } else {
    setSource(null);
  }
}

// The hint under the file control says the service's own limits once known.
export function showImageLimits() {
  if (limits.imageBytes != null) setText(els.imageLimitBytes, formatLimitBytes(limits.imageBytes));
  if (limits.imagePixels != null) setText(els.imageLimitPixels, formatMegapixels(limits.imagePixels) + ' megapixels');
}

// The file control, the sample box and the preview's own events.
export function startImageChoice() {
  els.imageInput.addEventListener('change', onFileInput);
  els.useSample.addEventListener('change', onSampleToggle);
  els.previewImg.addEventListener('load', onSampleLoaded);
  els.previewImg.addEventListener('error', onSampleFailed);
}
