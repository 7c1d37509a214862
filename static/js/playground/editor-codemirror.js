/*
 * CodeMirror 5 as the code editor, when static/vendor.sh copied it and its
 * Python mode loaded (classic scripts in index.html, before the modules).
 * Same interface as the textarea editor (editor-textarea.js).
 */

import { make } from '../dom.js';

function cmAvailable(CM) {
  return typeof CM === 'function' && typeof CM.fromTextArea === 'function' && !!CM.modes && !!CM.modes.python;
}

// The editor's options; hooks.onRun for Ctrl/Cmd+Enter.
function cmOptions(hooks) {
  function run() {
    hooks.onRun();
  }
  return {
    mode: { name: 'python', version: 3, singleLineStringErrors: false },
    lineNumbers: true,
    indentUnit: 4,
    tabSize: 4,
    indentWithTabs: false,
    smartIndent: true,
    electricChars: true,
    matchBrackets: true,
    styleActiveLine: true,
    lineWrapping: false,
    inputStyle: 'contenteditable',
    spellcheck: false,
    autocorrect: false,
    autocapitalize: false,
    screenReaderLabel: 'Python code',
    // Images dropped on the editor are the input image, not text.
    allowDropFileTypes: ['text/plain', 'text/x-python', 'text/x-script.python'],
    viewportMargin: 40,
    extraKeys: {
      'Tab': function (c) {
        if (c.somethingSelected()) c.indentSelection('add');
        else c.execCommand('insertSoftTab');
      },
      'Shift-Tab': function (c) {
        c.indentSelection('subtract');
      },
      'Ctrl-Enter': run,
      'Cmd-Enter': run,
      'Ctrl-/': 'toggleComment',
      'Cmd-/': 'toggleComment'
    }
  };
}

// Esc, then Tab: the browser moves the focus (no keyboard trap). Images
// dropped go to the page (hooks.isImageDrop); edits call hooks.onChange.
function bindCmEvents(cm, hooks) {
  let escapePressed = false;
  cm.on('keydown', function (c, e) {
    if (e.key === 'Escape') {
      escapePressed = true;
      return;
    }
    if (e.key === 'Tab' && escapePressed && !e.ctrlKey && !e.metaKey && !e.altKey) {
      escapePressed = false;
      e.codemirrorIgnore = true;
      return;
    }
    if (e.key !== 'Shift') escapePressed = false;
  });
  cm.on('blur', function () {
    escapePressed = false;
  });
  cm.on('drop', function (c, e) {
    if (hooks.isImageDrop(e.dataTransfer)) e.codemirrorIgnore = true; // the page takes it
  });
  cm.on('changes', hooks.onChange);
}

// Follows the box when it is resized by its handle.
function followResize(cm) {
  if (typeof ResizeObserver !== 'function') return;
  const wrapper = cm.getWrapperElement();
  let last = '';
  new ResizeObserver(function () {
    const size = wrapper.offsetWidth + 'x' + wrapper.offsetHeight;
    if (size !== last) {
      last = size;
      cm.refresh();
    }
  }).observe(wrapper);
}

// Marks line n (from 0) as failing, with message under it; returns what to clear.
function addErrorMark(cm, CM, n, message) {
  const text = cm.getLine(n) || '';
  const handle = cm.addLineClass(n, 'wrap', 'cm-error-line');
  cm.addLineClass(handle, 'background', 'cm-error-line-bg');
  cm.addLineClass(handle, 'gutter', 'cm-error-gutter');
  const from = text.search(/\S/);
  const mark = from === -1 ? null : cm.markText(CM.Pos(n, from), CM.Pos(n, text.replace(/\s+$/, '').length),
    { className: 'cm-error-text' });
  let widget = null;
  if (message) {
    const box = make('div', 'cm-error-widget');
    box.appendChild(make('span', 'cm-error-widget-icon', '!')).setAttribute('aria-hidden', 'true');
    box.appendChild(make('span', null, message));
    widget = cm.addLineWidget(handle, box, { coverGutter: false, noHScroll: true });
  }
  return { handle: handle, mark: mark, widget: widget };
}

function removeErrorMark(cm, m) {
  cm.operation(function () {
    cm.removeLineClass(m.handle, 'wrap', 'cm-error-line');
    cm.removeLineClass(m.handle, 'background', 'cm-error-line-bg');
    cm.removeLineClass(m.handle, 'gutter', 'cm-error-gutter');
    if (m.mark) m.mark.clear();
    if (m.widget) m.widget.clear();
  });
}

// The editor's interface over an instance cm.
function wrap(cm, CM) {
  let marked = null; // what addErrorMark returned
  return {
    kind: 'codemirror',
    cm: cm,
    get: function () {
      return cm.getValue();
    },
    set: function (text) {
      cm.operation(function () {
        cm.replaceRange(text, CM.Pos(cm.firstLine(), 0), CM.Pos(cm.lastLine()), 'setValue');
        cm.setCursor(CM.Pos(cm.firstLine(), 0));
      });
      cm.scrollTo(0, 0);
    },
    focus: function () {
      cm.focus();
    },
    goToLine: function (line) {
      const n = Math.min(Math.max(line - 1, cm.firstLine()), cm.lastLine());
      const text = cm.getLine(n) || '';
      cm.setCursor(CM.Pos(n, Math.max(0, text.search(/\S|$/))));
      cm.scrollIntoView(null, 80);
      cm.focus();
    },
    markError: function (line, message) {
      this.clearError();
      let n = line - 1;
      if (n < cm.firstLine()) return false;
      if (n > cm.lastLine()) n = cm.lastLine(); // a SyntaxError at the end of the file
      marked = addErrorMark(cm, CM, n, message);
      cm.scrollIntoView(CM.Pos(n, 0), 80);
      return true;
    },
    clearError: function () {
      if (!marked) return;
      const m = marked;
      marked = null;
      removeErrorMark(cm, m);
    }
  };
}

// The editor on the textarea ta, or null to keep the textarea (CodeMirror
// missing or failing). hooks: onRun(), onChange(), isImageDrop(dataTransfer).
export function codeMirrorEditor(ta, hooks) {
  const CM = window.CodeMirror;
  if (!cmAvailable(CM)) return null;
  let cm;
  try {
    cm = CM.fromTextArea(ta, cmOptions(hooks));
  } catch (e) {
    return null;
  }
  const input = cm.getInputField();
  input.setAttribute('aria-describedby', 'code-hint');
  input.setAttribute('aria-multiline', 'true');
  bindCmEvents(cm, hooks);
  followResize(cm);
  return wrap(cm, CM);
}
