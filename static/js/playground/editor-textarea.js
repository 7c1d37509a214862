/*
 * The plain text box as the code editor: the fallback when CodeMirror is
 * missing. Tab indents by 4 spaces (Shift+Tab removes them), Esc then Tab
 * leaves the box (no keyboard trap), Ctrl/Cmd+Enter runs. Edits keep the
 * browser's undo history where it can.
 */

const INDENT = '    ';

export function isRunShortcut(e) {
  return e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.altKey;
}

// Replaces [start, end) of a textarea, keeping the browser's undo history
// where it can (execCommand), then selects [selStart, selEnd).
function replaceText(ta, start, end, text, selStart, selEnd) {
  ta.focus();
  ta.setSelectionRange(start, end);
  let done = false;
  if (typeof document.execCommand === 'function') {
    try {
      done = document.execCommand('insertText', false, text);
    } catch (e) {
      done = false;
    }
  }
  if (!done || ta.value.slice(start, start + text.length) !== text) {
    ta.setRangeText(text, start, end, 'end');
    ta.dispatchEvent(new Event('input', { bubbles: true }));
  }
  if (selStart != null) ta.setSelectionRange(selStart, selEnd);
}

function lineStartOf(value, pos) {
  return value.lastIndexOf('\n', pos - 1) + 1;
}

function lineEndOf(value, pos) {
  const i = value.indexOf('\n', pos);
  return i === -1 ? value.length : i;
}

// Tab: 4 spaces at the cursor, or indents every line of a multi-line selection.
function indentSelection(ta) {
  const value = ta.value;
  const start = ta.selectionStart;
  const end = ta.selectionEnd;
  if (value.slice(start, end).indexOf('\n') === -1) {
    replaceText(ta, start, end, INDENT, start + INDENT.length, start + INDENT.length);
    return;
  }
  const from = lineStartOf(value, start);
  const lines = value.slice(from, end).split('\n');
  const last = lines.length - 1;
  const out = lines.map(function (line, i) {
    return i === last && line === '' ? line : INDENT + line;
  }).join('\n');
  replaceText(ta, from, end, out, from, from + out.length);
}

// Shift+Tab: removes up to 4 leading spaces from the line(s) of the selection.
function dedentSelection(ta) {
  const value = ta.value;
  const start = ta.selectionStart;
  const end = ta.selectionEnd;
  const from = lineStartOf(value, start);
  const to = start === end ? lineEndOf(value, end) : end;
  let removedFirst = 0;
  const out = value.slice(from, to).split('\n').map(function (line, i) {
    let n = /^ {0,4}/.exec(line)[0].length;
    if (n === 0 && line.charAt(0) === '\t') n = 1;
    if (i === 0) removedFirst = n;
    return line.slice(n);
  }).join('\n');
  if (out === value.slice(from, to)) return;
  if (start === end) {
    const cursor = Math.max(from, start - removedFirst);
    replaceText(ta, from, to, out, cursor, cursor);
  } else {
    replaceText(ta, from, to, out, from, from + out.length);
  }
}

// Selects line n (from 1) of the box; past the end, the end.
function selectLine(ta, line) {
  const value = ta.value;
  let start = 0;
  for (let i = 1; i < line && start !== -1; i++) {
    start = value.indexOf('\n', start);
    if (start !== -1) start += 1;
  }
  if (start === -1) start = value.length;
  ta.focus();
  ta.setSelectionRange(start, lineEndOf(value, start));
}

// The box's keys: hooks.onRun for Ctrl/Cmd+Enter, Tab and Shift+Tab indent.
function bindKeys(ta, hooks) {
  let escapePressed = false; // Esc, then Tab, leaves the box
  ta.addEventListener('keydown', function (e) {
    if (isRunShortcut(e)) {
      e.preventDefault();
      hooks.onRun();
      return;
    }
    if (e.key === 'Escape') {
      escapePressed = true;
      return;
    }
    if (e.key === 'Tab' && !e.ctrlKey && !e.metaKey && !e.altKey) {
      if (escapePressed) {
        escapePressed = false;
        return; // let the browser move the focus
      }
      e.preventDefault();
      if (e.shiftKey) dedentSelection(ta);
      else indentSelection(ta);
      return;
    }
    if (e.key !== 'Shift') escapePressed = false;
  });
  ta.addEventListener('blur', function () { escapePressed = false; });
}

// The editor on the textarea ta. hooks: onRun(), onChange().
// Every editor has: kind, get(), set(text) (undoable), focus(), goToLine(n),
// markError(line, message) (returns whether it marked), clearError().
export function textareaEditor(ta, hooks) {
  bindKeys(ta, hooks);
  ta.addEventListener('input', hooks.onChange);
  return {
    kind: 'textarea',
    get: function () {
      return ta.value;
    },
    set: function (text) {
      replaceText(ta, 0, ta.value.length, text, 0, 0);
    },
    focus: function () {
      ta.focus();
    },
    goToLine: function (line) {
      selectLine(ta, line);
    },
    markError: function (line) {
      ta.classList.add('has-error');
      ta.setAttribute('aria-invalid', 'true');
      ta.dataset.errorLine = String(line);
      return true;
    },
    clearError: function () {
      ta.classList.remove('has-error');
      ta.removeAttribute('aria-invalid');
      delete ta.dataset.errorLine;
    }
  };
}
