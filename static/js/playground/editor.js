/*
 * The code editor the page uses: CodeMirror when it loaded, else the plain
 * text box. The rest of the page reaches it only through `editor`, and marks
 * the failing line through markErrorLine / clearErrorMarks.
 */

import { codeMirrorEditor } from './editor-codemirror.js';
import { textareaEditor } from './editor-textarea.js';

let current = null;
let errorLine = null;

// The editor in use: kind(), get(), set(text) (undoable), focus(), goToLine(n).
export const editor = {
  kind: function () {
    return current.kind;
  },
  get: function () {
    return current.get();
  },
  set: function (text) {
    current.set(text);
  },
  focus: function () {
    current.focus();
  },
  goToLine: function (line) {
    current.goToLine(line);
  }
};

// Makes the editor on the textarea ta; hooks: onRun(), onChange(),
// isImageDrop(dataTransfer). Returns its kind: 'codemirror' or 'textarea'.
export function startEditor(ta, hooks) {
  current = codeMirrorEditor(ta, hooks) || textareaEditor(ta, hooks);
  return current.kind;
}

export function clearErrorMarks() {
  if (errorLine == null) return;
  errorLine = null;
  current.clearError();
}

// Marks line (from 1) as the one that failed, with message beside it.
export function markErrorLine(line, message) {
  clearErrorMarks();
  if (!Number.isInteger(line) || line < 1) return;
  if (current.markError(line, message)) errorLine = line;
}
