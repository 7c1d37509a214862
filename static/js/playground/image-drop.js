/*
 * An image dropped anywhere on the page, or pasted (a screenshot, a copied
 * image), becomes the input image; text dropped on the editor stays text.
 */

import { els } from './els.js';
import { chooseFile } from './image.js';

let dragDepth = 0;

// Shows a file taken from a drop or a paste in the file control too.
function putInFileInput(file) {
  try {
    const dt = new DataTransfer();
    dt.items.add(file);
    els.imageInput.files = dt.files;
  } catch (err) {
    /* older browsers: the name is still shown in the preview line */
  }
}

function hasFiles(dt) {
  return !!dt && Array.prototype.indexOf.call(dt.types || [], 'Files') !== -1;
}

function isImageFile(file) {
  return /^image\//.test(file.type) || /\.(png|jpe?g)$/i.test(file.name || '');
}

// Whether a drag carries an image file (the editor leaves those to the page).
export function hasImageFile(dt) {
  if (!dt) return false;
  if (dt.files && dt.files.length) return Array.prototype.some.call(dt.files, isImageFile);
  if (dt.items && dt.items.length) {
    return Array.prototype.some.call(dt.items, function (item) {
      return item.kind === 'file' && /^image\//.test(item.type);
    });
  }
  return false;
}

function onDragEnter(e) {
  if (!hasFiles(e.dataTransfer)) return;
  dragDepth += 1;
  els.imageField.classList.add('dragging');
  document.body.classList.add('drag-active');
}

function onDragOver(e) {
  if (!hasFiles(e.dataTransfer)) return;
  e.preventDefault(); // else the browser opens the file instead of the page
  e.dataTransfer.dropEffect = 'copy';
}

function endDrag() {
  dragDepth = 0;
  els.imageField.classList.remove('dragging');
  document.body.classList.remove('drag-active');
}

function onDragLeave(e) {
  if (!hasFiles(e.dataTransfer)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) endDrag();
}

// A file dropped anywhere on the page is the input image, except text
// files dropped on the editor (CodeMirror inserts those).
function onDrop(e) {
  endDrag();
  const files = e.dataTransfer && e.dataTransfer.files;
  if (!files || !files.length) return;
  const inEditor = e.target && e.target.closest && e.target.closest('.CodeMirror');
  if (inEditor && !isImageFile(files[0])) return;
  e.preventDefault();
  putInFileInput(files[0]);
  chooseFile(files[0]);
}

// The image file of a paste, or null (text: the editor or the box pastes it).
function pastedImage(cd) {
  let file = null;
  if (cd.files && cd.files.length) {
    file = Array.prototype.find.call(cd.files, isImageFile) || null;
  }
  if (!file && cd.items) {
    Array.prototype.some.call(cd.items, function (item) {
      if (item.kind === 'file' && /^image\//.test(item.type)) file = item.getAsFile();
      return !!file;
    });
  }
  return file;
}

// A pasted image gets a name a person recognises.
function namePasted(file) {
  if (file.name && file.name !== 'image.png' && file.name !== 'blob') return file;
  const ext = file.type === 'image/jpeg' ? 'jpg' : 'png';
  try {
    return new File([file], 'pasted-image.' + ext, { type: file.type });
  } catch (err) {
    return file; // keep the original name
  }
}

function onPaste(e) {
  const cd = e.clipboardData;
  if (!cd) return;
  let file = pastedImage(cd);
  if (!file) return;
  e.preventDefault();
  file = namePasted(file);
  putInFileInput(file);
  chooseFile(file);
}

export function startImageDrop() {
  window.addEventListener('dragenter', onDragEnter);
  window.addEventListener('dragover', onDragOver);
  window.addEventListener('dragleave', onDragLeave);
  window.addEventListener('drop', onDrop);
  document.addEventListener('paste', onPaste);
}
