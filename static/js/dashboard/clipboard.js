/*
 * Copying text: the clipboard API, else selecting the text shown and the
 * browser's copy command; a status line says which happened.
 */

import { setText } from '../dom.js';

const STATUS_MS = 5000;

// Selects the text of source and copies it; returns whether it was copied.
function copySelection(source) {
  const range = document.createRange();
  range.selectNodeContents(source);
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
  try {
    return document.execCommand('copy');
  } catch (e) {
    return false;
  }
}

// Copies text (shown in source), says so in statusEl; resolves whether it was copied.
export async function copyText(text, statusEl, source) {
  let done = false;
  if (navigator.clipboard && typeof navigator.clipboard.writeText === 'function') {
    try {
      await navigator.clipboard.writeText(text);
      done = true;
    } catch (e) {
      done = false;
    }
  }
  // Older browsers, or a clipboard the page may not write: select and copy.
  if (!done && source) done = copySelection(source);
  setText(statusEl, done ? 'Copied to the clipboard.' : 'Select the text and copy it (Ctrl+C).');
  setTimeout(function () { setText(statusEl, ''); }, STATUS_MS);
  return done;
}
