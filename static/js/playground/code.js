/*
 * The script in the editor: kept between visits (localStorage), restored,
 * replaced by an example or an earlier attempt (undoably), and the note under
 * the editor that says what just happened to it.
 */

import { setText } from '../dom.js';
import { KEYS, load, save } from '../storage.js';
import { clearErrorMarks, editor } from './editor.js';
import { els } from './els.js';

const SAVE_DELAY_MS = 300;
const NOTE_MS = 8000;

// The script of a first visit (and the "Invert colours" example).
export const DEFAULT_CODE = [
  '# Invert the colours of the input image.',
  'import json',
  'import os',
  '',
  'from PIL import Image, ImageOps',
  '',
  'params = json.loads(os.environ.get("USER_PARAMS") or "{}")',
  'strength = float(params.get("strength", 1.0))  # 0 to 1',
  '',
  'image = Image.open("/input/image.png").convert("RGB")',
  'inverted = ImageOps.invert(image)',
  'result = Image.blend(image, inverted, strength)',
  'result.save("/output/result.png")',
  'print("Inverted", image.size, "with strength", strength)',
  ''
].join('\n');

let saveTimer = null;
let noteTimer = null;

export function saveCodeSoon() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(saveCodeNow, SAVE_DELAY_MS);
}

export function saveCodeNow() {
  clearTimeout(saveTimer);
  saveTimer = null;
  save('localStorage', KEYS.code, editor.get());
}

// Saves now when a save is still waiting (the page is going away).
export function saveCodePending() {
  if (saveTimer) saveCodeNow();
}

// Puts the kept script (or the default one) in the text box, before the editor starts.
export function restoreCode() {
  const stored = load('localStorage', KEYS.code);
  els.code.value = stored ? stored : DEFAULT_CODE;
}

export function resetCode() {
  editor.set(DEFAULT_CODE); // undoable with Ctrl+Z
  saveCodeNow();
  editorNote('Restored the example script. Ctrl+Z brings your code back.');
  editor.focus();
}

// Replaces the code (undoable) and says so.
export function loadCode(code, note) {
  editor.set(code);
  clearErrorMarks();
  saveCodeNow();
  editorNote(note);
}

// A note under the editor, for a few seconds.
export function editorNote(text) {
  clearTimeout(noteTimer);
  setText(els.editorNote, text || '');
  if (text) noteTimer = setTimeout(function () { setText(els.editorNote, ''); }, NOTE_MS);
}
