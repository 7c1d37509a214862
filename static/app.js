/*
 * Image sandbox: the page that sends a Python script and an image to POST /run
 * and shows what came back (see shared/API.md for the contract).
 *
 * One plain script, no framework, no build step, no innerHTML: every piece of
 * text from the server or the person goes in through textContent. It works under
 * a strict CSP (script-src 'self', style-src 'self'): no inline script or style.
 *
 * Sections: constants, small helpers, storage, the code editor (CodeMirror 5
 * when static/vendor.sh copied it, else the plain textarea), examples,
 * parameters, the input image, the request, showing the answer, the session's
 * history, running, start-up.
 * The rest of the page reaches the editor only through `editor`.
 */
(function () {
  'use strict';

  /* ---------- Constants ---------- */

  var LIMITS = {
    codeBytes: 256 * 1024,
    imageBytes: 10 * 1024 * 1024,
    imagePixels: 40 * 1000 * 1000,
    paramsBytes: 16 * 1024
  };

  var KEYS = {
    code: 'imgsandbox.code',
    session: 'imgsandbox.session_id',
    previous: 'imgsandbox.previous_attempt_id',
    open: 'imgsandbox.open' // code handed over by the dashboard (sessionStorage)
  };

  var RUN_URL = '/run';
  var HEALTH_URL = '/api/health';
  var SESSION_URL = '/api/logs/session/';
  var LOG_URL = '/api/logs/log/';
  var SAMPLE_URL = '/sample.png';
  var SESSION_RE = /^[A-Za-z0-9_-]{1,64}$/;
  var INDENT = '    ';

  var DEFAULT_CODE = [
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

  // The starter examples: static/examples/<file>, fetched when chosen.
  var EXAMPLES = [
    { title: 'Invert colours', about: 'Pillow · ImageOps.invert', code: DEFAULT_CODE, params: '{"strength": 1.0}' },
    { title: 'Grayscale', about: 'Pillow · ImageOps.grayscale', file: 'grayscale.py',
      params: '{"autocontrast": true, "cutoff": 1}' },
    { title: 'Blur', about: 'Pillow · ImageFilter.GaussianBlur', file: 'blur.py', params: '{"radius": 6}' },
    { title: 'Edges', about: 'OpenCV · cv2.Canny on BGR arrays', file: 'edges_opencv.py',
      params: '{"low": 60, "high": 160}' },
    { title: 'Threshold', about: 'scikit-image · filters.threshold_otsu', file: 'threshold_skimage.py',
      params: '{"invert": false}' },
    { title: 'Draw text', about: 'Pillow · ImageDraw and a TrueType font', file: 'draw_text.py',
      params: '{"text": "Hello from the sandbox", "size": 36}' }
  ];

  // What each status of a finished run means, in words (errors are built apart).
  var STATUS_TEXT = {
    timeout: 'Stopped: the script ran longer than the time limit',
    oom: 'Stopped: the script used more memory than allowed',
    no_output: 'The script finished but did not save /output/result.png',
    bad_output: 'The result is not a PNG image (or is too large)'
  };

  // Short names of the statuses, for badges.
  var STATUS_WORD = {
    success: 'Success',
    error: 'Error',
    timeout: 'Timed out',
    oom: 'Out of memory',
    no_output: 'No result',
    bad_output: 'Bad result',
    rejected: 'Refused'
  };

  var STATUS_HINT = {
    error: 'Read the traceback, fix the highlighted line and run again.',
    timeout: 'Make the script faster, or work on a smaller copy of the image (Image.thumbnail).',
    oom: 'Work on a smaller image, or use smaller arrays (uint8 rather than float64).',
    no_output: 'End the script with something like result.save("/output/result.png").',
    bad_output: 'Save a PNG: result.save("/output/result.png", format="PNG"), and keep it reasonably small.'
  };

  // A hint for each refusal code of the API (the 429 one is built from Retry-After).
  var REFUSAL_HINT = {
    bad_request: 'Try again; if it keeps happening, reload the page.',
    method_not_allowed: 'Reload the page and try again.',
    too_large: 'Use a smaller image (up to 10 MiB) or shorter code or parameters.',
    unsupported_image: 'Choose a PNG or JPEG file that opens in an image viewer.',
    bad_params: 'The parameters must be a JSON object, like {"strength": 0.8}.'
  };

  /* ---------- Small helpers ---------- */

  var els = {};

  function $(id) {
    return document.getElementById(id);
  }

  function show(el, visible) {
    el.hidden = !visible;
  }

  function setText(el, text) {
    el.textContent = text == null ? '' : String(text);
  }

  // A new element with a class and text (never markup).
  function make(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text != null) el.textContent = String(text);
    return el;
  }

  function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }

  function wholeNumber(v) {
    return typeof v === 'number' && isFinite(v) && Math.floor(v) === v ? v : null;
  }

  // Bytes as sent: multipart/form-data turns every line break into CRLF.
  function byteLength(text) {
    return new TextEncoder().encode(String(text).replace(/\r\n|\r|\n/g, '\r\n')).length;
  }

  function formatBytes(n) {
    if (n < 1024) return n + (n === 1 ? ' byte' : ' bytes');
    if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10 * 1024 ? 1 : 0) + ' KiB';
    return (n / (1024 * 1024)).toFixed(1) + ' MiB';
  }

  function formatDims(width, height) {
    var text = width + ' × ' + height + ' px';
    var mp = (width * height) / 1e6;
    if (mp >= 1) text += ' (' + mp.toFixed(1) + ' MP)';
    return text;
  }

  function formatSeconds(ms) {
    return (ms / 1000).toFixed(2) + ' s';
  }

  function formatTime(iso) {
    var d = new Date(iso);
    if (!iso || isNaN(d.getTime())) return '';
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  // Turns a message from the server into a sentence: capital first, full stop last.
  function sentence(text) {
    var s = String(text).trim();
    if (!s) return '';
    s = s.charAt(0).toUpperCase() + s.slice(1);
    return /[.!?…]$/.test(s) ? s : s + '.';
  }

  async function readJson(response) {
    try {
      var text = await response.text();
      return text ? JSON.parse(text) : null;
    } catch (e) {
      return null;
    }
  }

  function getJson(url) {
    return fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (response) {
        return readJson(response).then(function (body) {
          return { ok: response.ok, status: response.status, body: body };
        });
      });
  }

  /* ---------- Storage (may be unavailable: private modes, blocked cookies) ---------- */

  function storage(kind) {
    try {
      return window[kind] || null;
    } catch (e) {
      return null;
    }
  }

  function load(kind, key) {
    var store = storage(kind);
    try {
      return store ? store.getItem(key) : null;
    } catch (e) {
      return null;
    }
  }

  function save(kind, key, value) {
    var store = storage(kind);
    if (!store) return;
    try {
      if (value == null) store.removeItem(key);
      else store.setItem(key, String(value));
    } catch (e) {
      /* full or refused: the page still works without it */
    }
  }

  /* ---------- The code editor ---------- */

  // Every editor has: get(), set(text) (undoable), focus(), goToLine(n),
  // markError(line, message), clearError(). The textarea one is the fallback.
  var textareaEditor = {
    kind: 'textarea',
    get: function () {
      return els.code.value;
    },
    set: function (text) {
      replaceText(els.code, 0, els.code.value.length, text, 0, 0);
    },
    focus: function () {
      els.code.focus();
    },
    goToLine: function (line) {
      var value = els.code.value;
      var start = 0;
      for (var i = 1; i < line && start !== -1; i++) {
        start = value.indexOf('\n', start);
        if (start !== -1) start += 1;
      }
      if (start === -1) start = value.length;
      var end = lineEndOf(value, start);
      els.code.focus();
      els.code.setSelectionRange(start, end);
    },
    markError: function (line) {
      els.code.classList.add('has-error');
      els.code.setAttribute('aria-invalid', 'true');
      els.code.dataset.errorLine = String(line);
      return true;
    },
    clearError: function () {
      els.code.classList.remove('has-error');
      els.code.removeAttribute('aria-invalid');
      delete els.code.dataset.errorLine;
    }
  };

  var editor = textareaEditor;

  // Replaces [start, end) of a textarea, keeping the browser's undo history
  // where it can (execCommand), then selects [selStart, selEnd).
  function replaceText(ta, start, end, text, selStart, selEnd) {
    ta.focus();
    ta.setSelectionRange(start, end);
    var done = false;
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
    var i = value.indexOf('\n', pos);
    return i === -1 ? value.length : i;
  }

  // Tab: 4 spaces at the cursor, or indents every line of a multi-line selection.
  function indentSelection(ta) {
    var value = ta.value;
    var start = ta.selectionStart;
    var end = ta.selectionEnd;
    if (value.slice(start, end).indexOf('\n') === -1) {
      replaceText(ta, start, end, INDENT, start + INDENT.length, start + INDENT.length);
      return;
    }
    var from = lineStartOf(value, start);
    var lines = value.slice(from, end).split('\n');
    var last = lines.length - 1;
    var out = lines.map(function (line, i) {
      return i === last && line === '' ? line : INDENT + line;
    }).join('\n');
    replaceText(ta, from, end, out, from, from + out.length);
  }

  // Shift+Tab: removes up to 4 leading spaces from the line(s) of the selection.
  function dedentSelection(ta) {
    var value = ta.value;
    var start = ta.selectionStart;
    var end = ta.selectionEnd;
    var from = lineStartOf(value, start);
    var to = start === end ? lineEndOf(value, end) : end;
    var removedFirst = 0;
    var out = value.slice(from, to).split('\n').map(function (line, i) {
      var n = /^ {0,4}/.exec(line)[0].length;
      if (n === 0 && line.charAt(0) === '\t') n = 1;
      if (i === 0) removedFirst = n;
      return line.slice(n);
    }).join('\n');
    if (out === value.slice(from, to)) return;
    if (start === end) {
      var cursor = Math.max(from, start - removedFirst);
      replaceText(ta, from, to, out, cursor, cursor);
    } else {
      replaceText(ta, from, to, out, from, from + out.length);
    }
  }

  var escapePressed = false; // Esc, then Tab, leaves the code box (no keyboard trap)

  function isRunShortcut(e) {
    return e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.altKey;
  }

  function onCodeKeydown(e) {
    if (isRunShortcut(e)) {
      e.preventDefault();
      requestRun();
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
      if (e.shiftKey) dedentSelection(els.code);
      else indentSelection(els.code);
      return;
    }
    if (e.key !== 'Shift') escapePressed = false;
  }

  // CodeMirror 5 (static/vendor/codemirror), when it loaded with its Python
  // mode. Returns an editor, or null to keep the textarea.
  function makeCodeMirrorEditor() {
    var CM = window.CodeMirror;
    if (typeof CM !== 'function' || typeof CM.fromTextArea !== 'function' || !CM.modes || !CM.modes.python) {
      return null;
    }
    var cm;
    function run() {
      requestRun();
    }
    try {
      cm = CM.fromTextArea(els.code, {
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
      });
    } catch (e) {
      return null;
    }

    var input = cm.getInputField();
    input.setAttribute('aria-describedby', 'code-hint');
    input.setAttribute('aria-multiline', 'true');

    // Esc, then Tab: the browser moves the focus (no keyboard trap).
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
      if (hasImageFile(e.dataTransfer)) e.codemirrorIgnore = true; // the page takes it
    });
    cm.on('changes', function () {
      clearErrorMarks();
      saveCodeSoon();
    });

    // Follows the box when it is resized by its handle.
    if (typeof ResizeObserver === 'function') {
      var last = '';
      new ResizeObserver(function () {
        var size = cm.getWrapperElement().offsetWidth + 'x' + cm.getWrapperElement().offsetHeight;
        if (size !== last) {
          last = size;
          cm.refresh();
        }
      }).observe(cm.getWrapperElement());
    }

    var marked = null; // {handle, mark, widget}

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
        var n = Math.min(Math.max(line - 1, cm.firstLine()), cm.lastLine());
        var text = cm.getLine(n) || '';
        cm.setCursor(CM.Pos(n, Math.max(0, text.search(/\S|$/))));
        cm.scrollIntoView(null, 80);
        cm.focus();
      },
      markError: function (line, message) {
        this.clearError();
        var n = line - 1;
        if (n < cm.firstLine()) return false;
        if (n > cm.lastLine()) n = cm.lastLine(); // a SyntaxError at the end of the file
        var text = cm.getLine(n) || '';
        var handle = cm.addLineClass(n, 'wrap', 'cm-error-line');
        cm.addLineClass(handle, 'background', 'cm-error-line-bg');
        cm.addLineClass(handle, 'gutter', 'cm-error-gutter');
        var from = text.search(/\S/);
        var mark = from === -1 ? null : cm.markText(CM.Pos(n, from), CM.Pos(n, text.replace(/\s+$/, '').length),
          { className: 'cm-error-text' });
        var widget = null;
        if (message) {
          var box = make('div', 'cm-error-widget');
          box.appendChild(make('span', 'cm-error-widget-icon', '!')).setAttribute('aria-hidden', 'true');
          box.appendChild(make('span', null, message));
          widget = cm.addLineWidget(handle, box, { coverGutter: false, noHScroll: true });
        }
        marked = { handle: handle, mark: mark, widget: widget };
        cm.scrollIntoView(CM.Pos(n, 0), 80);
        return true;
      },
      clearError: function () {
        if (!marked) return;
        var m = marked;
        marked = null;
        cm.operation(function () {
          cm.removeLineClass(m.handle, 'wrap', 'cm-error-line');
          cm.removeLineClass(m.handle, 'background', 'cm-error-line-bg');
          cm.removeLineClass(m.handle, 'gutter', 'cm-error-gutter');
          if (m.mark) m.mark.clear();
          if (m.widget) m.widget.clear();
        });
      }
    };
  }

  var saveTimer = null;

  function saveCodeSoon() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveCodeNow, 300);
  }

  function saveCodeNow() {
    clearTimeout(saveTimer);
    saveTimer = null;
    save('localStorage', KEYS.code, editor.get());
  }

  function restoreCode() {
    var stored = load('localStorage', KEYS.code);
    els.code.value = stored ? stored : DEFAULT_CODE;
  }

  function resetCode() {
    editor.set(DEFAULT_CODE); // undoable with Ctrl+Z
    saveCodeNow();
    editorNote('Restored the example script. Ctrl+Z brings your code back.');
    editor.focus();
  }

  // Replaces the code (undoable) and says so.
  function loadCode(code, note) {
    editor.set(code);
    clearErrorMarks();
    saveCodeNow();
    editorNote(note);
  }

  var noteTimer = null;

  function editorNote(text) {
    clearTimeout(noteTimer);
    setText(els.editorNote, text || '');
    if (text) noteTimer = setTimeout(function () { setText(els.editorNote, ''); }, 8000);
  }

  /* ---------- The error line in the editor ---------- */

  var errorLine = null;

  function clearErrorMarks() {
    if (errorLine == null) return;
    errorLine = null;
    editor.clearError();
  }

  function markErrorLine(line, message) {
    clearErrorMarks();
    if (!Number.isInteger(line) || line < 1) return;
    if (editor.markError(line, message)) errorLine = line;
  }

  /* ---------- Examples ---------- */

  function buildExamplesMenu() {
    EXAMPLES.forEach(function (ex, i) {
      var li = make('li');
      li.setAttribute('role', 'none');
      var item = make('button', 'menu-item');
      item.type = 'button';
      item.setAttribute('role', 'menuitem');
      item.tabIndex = -1;
      item.dataset.index = String(i);
      item.appendChild(make('span', 'menu-title', ex.title));
      item.appendChild(make('span', 'menu-about', ex.about));
      item.addEventListener('click', function () {
        closeMenu(true);
        chooseExample(ex);
      });
      li.appendChild(item);
      els.examplesMenu.appendChild(li);
    });
  }

  function menuItems() {
    return Array.prototype.slice.call(els.examplesMenu.querySelectorAll('[role="menuitem"]'));
  }

  function openMenu(focusLast) {
    show(els.examplesMenu, true);
    els.examplesButton.setAttribute('aria-expanded', 'true');
    var items = menuItems();
    if (items.length) items[focusLast ? items.length - 1 : 0].focus();
  }

  function closeMenu(returnFocus) {
    if (els.examplesMenu.hidden) return;
    show(els.examplesMenu, false);
    els.examplesButton.setAttribute('aria-expanded', 'false');
    if (returnFocus) els.examplesButton.focus();
  }

  function onMenuButtonKeydown(e) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      openMenu(e.key === 'ArrowUp');
    }
  }

  function onMenuKeydown(e) {
    var items = menuItems();
    var i = items.indexOf(document.activeElement);
    var next = null;
    if (e.key === 'ArrowDown') next = items[(i + 1) % items.length];
    else if (e.key === 'ArrowUp') next = items[(i - 1 + items.length) % items.length];
    else if (e.key === 'Home') next = items[0];
    else if (e.key === 'End') next = items[items.length - 1];
    else if (e.key === 'Escape') {
      e.preventDefault();
      closeMenu(true);
      return;
    } else if (e.key === 'Tab') {
      closeMenu(false);
      return;
    }
    if (next) {
      e.preventDefault();
      next.focus();
    }
  }

  async function chooseExample(ex) {
    var code = ex.code;
    if (code == null) {
      editorNote('Loading the “' + ex.title + '” example…');
      try {
        var response = await fetch('examples/' + ex.file, { credentials: 'same-origin' });
        if (!response.ok) throw new Error('HTTP ' + response.status);
        code = await response.text();
      } catch (e) {
        editorNote('The “' + ex.title + '” example could not be loaded; check the connection and try again.');
        return;
      }
    }
    loadCode(code, 'Loaded the “' + ex.title + '” example. Ctrl+Z brings your code back.');
    if (ex.params != null) {
      els.params.value = ex.params;
      validateParams();
    }
    editor.focus();
  }

  /* ---------- Parameters ---------- */

  function describeKind(value) {
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    if (typeof value === 'string') return 'a string';
    if (typeof value === 'number') return 'a number';
    if (typeof value === 'boolean') return 'true or false';
    return 'a ' + typeof value;
  }

  function lineAndColumn(text, position) {
    var before = text.slice(0, position);
    var line = before.split('\n').length;
    var column = position - before.lastIndexOf('\n');
    return 'line ' + line + ', column ' + column;
  }

  // Words for a JSON.parse failure: where it is, what the parser said, and a
  // hint for the usual mistakes.
  function describeJsonError(text, error) {
    var raw = String(error && error.message || '');
    var where = '';
    var m = /line (\d+) column (\d+)/.exec(raw);
    if (m) {
      where = 'line ' + m[1] + ', column ' + m[2];
    } else {
      m = /position (\d+)/.exec(raw);
      if (m) where = lineAndColumn(text, Number(m[1]));
    }
    var what = raw
      .replace(/^JSON\.parse:\s*/, '')
      .replace(/\s*\(line \d+ column \d+\)/, '')
      .replace(/\s*(in JSON )?at position \d+.*$/, '')
      .replace(/\s*at line \d+ column \d+ of the JSON data$/, '')
      .replace(/^SyntaxError:\s*/, '')
      .replace(/, "[\s\S]*" is not valid JSON$/, '')
      .trim();
    var msg = 'This is not valid JSON' + (where ? ' (' + where + ')' : '') + (what ? ': ' + what : '') + '.';
    if (/,\s*[}\]]/.test(text)) msg += ' JSON does not allow a comma before } or ].';
    else if (/'/.test(text)) msg += ' JSON needs double quotes (") around keys and strings.';
    else if (/[{,]\s*[A-Za-z_][\w-]*\s*:/.test(text)) msg += ' Put the keys in double quotes, like {"size": 3}.';
    return msg;
  }

  // Returns {ok: true, value: text or null when empty} or {ok: false, message}.
  function checkParams(text) {
    if (!text.trim()) return { ok: true, value: null };
    var size = byteLength(text);
    if (size > LIMITS.paramsBytes) {
      return { ok: false, message: 'The parameters are too long (' + formatBytes(size) + '); the limit is 16 KiB.' };
    }
    var value;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return { ok: false, message: describeJsonError(text, e) };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return {
        ok: false,
        message: 'The parameters must be a JSON object, like {"strength": 0.8}, not ' + describeKind(value) + '.'
      };
    }
    return { ok: true, value: text };
  }

  function validateParams() {
    var result = checkParams(els.params.value);
    setText(els.paramsError, result.ok ? '' : result.message);
    els.params.setAttribute('aria-invalid', result.ok ? 'false' : 'true');
    els.params.classList.toggle('invalid', !result.ok);
    return result;
  }

  /* ---------- The input image ---------- */

  // What will be sent: null, {kind: 'sample'} or {kind: 'file', file, url, width, height}.
  var source = null;
  var checkToken = 0;

  function sniffImageType(bytes) {
    if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 &&
        bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) return 'png';
    if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
    return null;
  }

  function u16(b, i) {
    return (b[i] << 8) | b[i + 1];
  }

  function u32(b, i) {
    return ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
  }

  // Pixel size from the file's header, without decoding it; null when not found.
  function readDimensions(bytes, type) {
    if (type === 'png') {
      if (bytes.length < 24 || String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]) !== 'IHDR') return null;
      return { width: u32(bytes, 16), height: u32(bytes, 20) };
    }
    var i = 2;
    while (i + 9 < bytes.length) {
      if (bytes[i] !== 0xff) return null;
      var marker = bytes[i + 1];
      if (marker === 0xff) { i += 1; continue; }
      if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) { i += 2; continue; }
      var isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isFrame) {
        var height = u16(bytes, i + 5);
        var width = u16(bytes, i + 7);
        return height && width ? { width: width, height: height } : null;
      }
      i += 2 + u16(bytes, i + 2);
    }
    return null;
  }

  function decodeImage(url) {
    return new Promise(function (resolve) {
      var img = new Image();
      img.onload = function () { resolve({ width: img.naturalWidth, height: img.naturalHeight }); };
      img.onerror = function () { resolve(null); };
      img.src = url;
    });
  }

  // Checks a chosen file as the server would; resolves {error} or {url, width, height}.
  async function checkImageFile(file) {
    var name = '“' + file.name + '”';
    if (file.size === 0) return { error: name + ' is empty.' };
    if (file.size > LIMITS.imageBytes) {
      return { error: name + ' is ' + formatBytes(file.size) + '; the limit is 10 MiB. Choose a smaller image.' };
    }
    var bytes = new Uint8Array(await file.arrayBuffer());
    var type = sniffImageType(bytes);
    if (!type) return { error: name + ' is not a PNG or JPEG image. Choose a .png or .jpg file.' };
    var dims = readDimensions(bytes, type);
    if (dims && dims.width * dims.height > LIMITS.imagePixels) return { error: tooManyPixels(name, dims) };
    var url = URL.createObjectURL(file);
    var decoded = await decodeImage(url);
    if (!decoded || !decoded.width) {
      URL.revokeObjectURL(url);
      return { error: name + ' could not be read as an image; it may be damaged.' };
    }
    if (decoded.width * decoded.height > LIMITS.imagePixels) {
      URL.revokeObjectURL(url);
      return { error: tooManyPixels(name, decoded) };
    }
    return { url: url, width: decoded.width, height: decoded.height, type: type };
  }

  function tooManyPixels(name, dims) {
    return name + ' is ' + dims.width + ' × ' + dims.height + ' pixels (' +
      ((dims.width * dims.height) / 1e6).toFixed(1) + ' megapixels); the limit is 40 megapixels.';
  }

  function setSource(next) {
    var old = source;
    source = next;
    if (old && old.kind === 'file' && (!next || next.url !== old.url)) URL.revokeObjectURL(old.url);
    renderSource();
  }

  function renderSource() {
    var url = source ? (source.kind === 'sample' ? SAMPLE_URL : source.url) : null;
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
    var dims = formatDims(els.previewImg.naturalWidth, els.previewImg.naturalHeight);
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

  async function chooseFile(file) {
    var token = ++checkToken;
    setImageError('');
    if (!file) {
      if (!source || source.kind === 'file') setSource(null);
      return;
    }
    setText(els.imageInfo, 'Checking ' + file.name + '…');
    var checked;
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

  function onFileInput() {
    var file = els.imageInput.files && els.imageInput.files[0];
    chooseFile(file || null);
  }

  function onSampleToggle() {
    checkToken++;
    setImageError('');
    if (els.useSample.checked) {
      els.imageInput.value = '';
      setSource({ kind: 'sample' });
    } else {
      setSource(null);
    }
  }

  // Shows a file taken from a drop or a paste in the file control too.
  function putInFileInput(file) {
    try {
      var dt = new DataTransfer();
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

  function hasImageFile(dt) {
    if (!dt) return false;
    if (dt.files && dt.files.length) return Array.prototype.some.call(dt.files, isImageFile);
    if (dt.items && dt.items.length) {
      return Array.prototype.some.call(dt.items, function (item) {
        return item.kind === 'file' && /^image\//.test(item.type);
      });
    }
    return false;
  }

  var dragDepth = 0;

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
    var files = e.dataTransfer && e.dataTransfer.files;
    if (!files || !files.length) return;
    var inEditor = e.target && e.target.closest && e.target.closest('.CodeMirror');
    if (inEditor && !isImageFile(files[0])) return;
    e.preventDefault();
    putInFileInput(files[0]);
    chooseFile(files[0]);
  }

  // An image pasted anywhere on the page (a screenshot, a copied image).
  function onPaste(e) {
    var cd = e.clipboardData;
    if (!cd) return;
    var file = null;
    if (cd.files && cd.files.length) {
      file = Array.prototype.find.call(cd.files, isImageFile) || null;
    }
    if (!file && cd.items) {
      Array.prototype.some.call(cd.items, function (item) {
        if (item.kind === 'file' && /^image\//.test(item.type)) file = item.getAsFile();
        return !!file;
      });
    }
    if (!file) return; // text: the editor or the box pastes it
    e.preventDefault();
    if (!file.name || file.name === 'image.png' || file.name === 'blob') {
      var ext = file.type === 'image/jpeg' ? 'jpg' : 'png';
      try {
        file = new File([file], 'pasted-image.' + ext, { type: file.type });
      } catch (err) {
        /* keep the original name */
      }
    }
    putInFileInput(file);
    chooseFile(file);
  }

  /* ---------- The request ---------- */

  function buildForm(code, params) {
    var form = new FormData();
    form.append('code', code);
    if (source && source.kind === 'file') form.append('image', source.file, source.file.name);
    else if (source && source.kind === 'sample') form.append('use_sample', '1');
    if (params != null) form.append('params', params);
    var session = load('sessionStorage', KEYS.session);
    if (session && SESSION_RE.test(session)) {
      form.append('session_id', session);
      var previous = load('sessionStorage', KEYS.previous);
      if (previous && /^\d+$/.test(previous)) form.append('previous_attempt_id', previous);
    }
    return form;
  }

  function rememberSession(body) {
    if (body && typeof body.session_id === 'string' && SESSION_RE.test(body.session_id)) {
      save('sessionStorage', KEYS.session, body.session_id);
    }
  }

  function rememberAttempt(result) {
    rememberSession(result);
    var failed = result.status !== 'success' && result.log_id != null && /^\d+$/.test(String(result.log_id));
    save('sessionStorage', KEYS.previous, failed ? String(result.log_id) : null);
  }

  // Retry-After is either seconds or an HTTP date; returns whole seconds or null.
  function retryAfterSeconds(header) {
    if (!header) return null;
    var value = header.trim();
    if (/^\d+$/.test(value)) return Math.max(1, parseInt(value, 10));
    var when = Date.parse(value);
    if (isNaN(when)) return null;
    return Math.max(1, Math.ceil((when - Date.now()) / 1000));
  }

  function fallbackRefusal(status) {
    if (status === 413) return 'The request is too large.';
    if (status === 429) return 'Every sandbox is busy right now.';
    if (status === 502 || status === 504) return 'The server did not answer in time (HTTP ' + status + ').';
    if (status === 503) return 'The sandbox is not available right now.';
    if (status >= 500) return 'The server could not run the script (HTTP ' + status + ').';
    return 'The server refused the request (HTTP ' + status + ').';
  }

  // A refused request in words: {message, hint, code}. Never the raw body.
  function describeRefusal(response, body) {
    var err = body && typeof body === 'object' && body.error && typeof body.error === 'object' ? body.error : null;
    var code = err && typeof err.code === 'string' ? err.code : '';
    var given = err && typeof err.message === 'string' ? sentence(err.message) : '';
    var message = given || fallbackRefusal(response.status);
    var hint = REFUSAL_HINT[code] || '';
    if (code === 'busy' || response.status === 429) {
      var secs = retryAfterSeconds(response.headers.get('Retry-After'));
      hint = secs ? 'Try again in ' + secs + ' s.' : 'Try again in a moment.';
    } else if (code === 'sandbox_unavailable' || response.status === 503) {
      hint = '';
    } else if (!hint && response.status >= 500) {
      hint = 'Try again in a moment.';
    }
    return { message: message, hint: hint, code: code };
  }

  /* ---------- Showing the answer ---------- */

  function setStatus(text, kind) {
    setText(els.status, text);
    els.status.className = 'status status-' + kind;
  }

  function setHint(text) {
    setText(els.statusHint, text || '');
    show(els.statusHint, !!text);
  }

  function clearResult() {
    setHint('');
    setText(els.runMeta, '');
    show(els.runMeta, false);
    els.resultImg.removeAttribute('src');
    show(els.resultImg, false);
    setText(els.resultDims, '');
    els.download.removeAttribute('href');
    show(els.download, false);
    setText(els.error, '');
    setText(els.traceback, '');
    show(els.traceback, false);
    show(els.errorGoto, false);
    show(els.errorBox, false);
    setText(els.stdout, '');
    setText(els.stderr, '');
    show(els.truncatedNote, false);
    els.resultPanel.classList.remove('has-error', 'has-result');
  }

  function errorSummary(result) {
    var err = result.error && typeof result.error === 'object' ? result.error : null;
    if (err && err.type) {
      var line = Number.isInteger(err.line) && err.line > 0 ? ' on line ' + err.line : '';
      return 'The script raised ' + err.type + line;
    }
    if (typeof result.exit_code === 'number' && result.exit_code !== 0) {
      return 'The script failed with exit code ' + result.exit_code;
    }
    return 'The script failed';
  }

  function statusSentence(result) {
    if (result.status === 'success') {
      var ms = typeof result.duration_ms === 'number' ? result.duration_ms : 0;
      return 'Done in ' + formatSeconds(ms);
    }
    if (result.status === 'error') return errorSummary(result);
    return STATUS_TEXT[result.status] || 'The run ended with the status “' + result.status + '”';
  }

  // Only a path of ours under /outputs/ is put into src/href.
  function safeOutputUrl(url) {
    return typeof url === 'string' && /^\/outputs\/[A-Za-z0-9._\/-]+$/.test(url) && url.indexOf('..') === -1
      ? url : null;
  }

  function showMeta(result) {
    var parts = [];
    if (result.attempt != null) parts.push('Attempt ' + result.attempt);
    if (typeof result.exit_code === 'number') parts.push('exit code ' + result.exit_code);
    if (typeof result.duration_ms === 'number') parts.push('ran ' + formatSeconds(result.duration_ms));
    if (typeof result.job_id === 'string') parts.push('job ' + result.job_id.slice(0, 12));
    setText(els.runMeta, parts.join(' · '));
    els.runMeta.title = typeof result.job_id === 'string' ? 'Job ' + result.job_id : '';
    show(els.runMeta, parts.length > 0);
  }

  var outputInfo = null; // {width, height, bytes} from the answer

  function showOutputImage(result) {
    var url = result.status === 'success' ? safeOutputUrl(result.url) : null;
    if (!url) return;
    var out = isObject(result.output) ? result.output : {};
    outputInfo = {
      width: wholeNumber(out.width),
      height: wholeNumber(out.height),
      bytes: wholeNumber(out.bytes)
    };
    if (outputInfo.width && outputInfo.height) setText(els.resultDims, outputLabel(outputInfo.width, outputInfo.height));
    els.resultImg.src = url;
    show(els.resultImg, true);
    els.download.href = url;
    show(els.download, true);
    els.resultPanel.classList.add('has-result');
  }

  function outputLabel(width, height) {
    var text = formatDims(width, height);
    if (outputInfo && outputInfo.bytes) text += ' · ' + formatBytes(outputInfo.bytes);
    return text;
  }

  function onResultLoaded() {
    if (!els.resultImg.getAttribute('src')) return;
    setText(els.resultDims, outputLabel(els.resultImg.naturalWidth, els.resultImg.naturalHeight));
  }

  function onResultFailed() {
    if (!els.resultImg.getAttribute('src')) return;
    show(els.resultImg, false);
    setHint('The result image could not be loaded; it may have been removed already. Run the script again.');
  }

  function errorMessageOf(err) {
    var message = typeof err.message === 'string' && err.message ? ': ' + err.message : '';
    return String(err.type || 'Error') + message;
  }

  function showError(result) {
    var err = result.error && typeof result.error === 'object' ? result.error : null;
    // A timeout or a missing result is said by the status and its hint; the
    // box is for what the script raised.
    if (result.status !== 'error' && !(err && typeof err.traceback === 'string' && err.traceback)) return;
    if (err) {
      var hasLine = Number.isInteger(err.line) && err.line > 0;
      setText(els.error, errorMessageOf(err) + (hasLine ? ' (line ' + err.line + ')' : ''));
      var tb = typeof err.traceback === 'string' ? err.traceback : '';
      setText(els.traceback, tb);
      show(els.traceback, !!tb);
      if (hasLine) {
        setText(els.errorGoto, 'Go to line ' + err.line);
        els.errorGoto.dataset.line = String(err.line);
        markErrorLine(err.line, errorMessageOf(err));
      }
      show(els.errorGoto, hasLine);
    } else {
      setText(els.error, errorSummary(result) + '. See stderr below.');
    }
    show(els.errorBox, true);
    els.resultPanel.classList.add('has-error');
  }

  function showStreams(result) {
    setText(els.stdout, typeof result.stdout === 'string' ? result.stdout : '');
    setText(els.stderr, typeof result.stderr === 'string' ? result.stderr : '');
    show(els.truncatedNote, result.truncated === true);
  }

  function showResult(result) {
    var ok = result.status === 'success';
    setStatus(statusSentence(result), ok ? 'ok' : 'fail');
    setHint(ok ? '' : STATUS_HINT[result.status] || '');
    showMeta(result);
    showOutputImage(result);
    showError(result);
    showStreams(result);
  }

  function showRefusal(refusal) {
    setStatus(refusal.message, 'refused');
    setHint(refusal.hint);
  }

  /* ---------- The session's history ---------- */

  var localAttempts = []; // this page's runs, for when the server's history cannot be read
  var historyToken = 0;

  function str(v) {
    return typeof v === 'string' ? v : '';
  }

  // The attempts of a session answer, in order, whatever its exact shape.
  function normaliseAttempts(body) {
    var list = Array.isArray(body) ? body : isObject(body) ? body.attempts || body.items || body.runs : null;
    if (!Array.isArray(list)) return null;
    return list.filter(isObject).map(function (a, i) {
      var changes = isObject(a.changes) ? a.changes : null;
      return {
        id: wholeNumber(a.log_id) || wholeNumber(a.id),
        attempt: wholeNumber(a.attempt) || i + 1,
        status: str(a.status) || 'unknown',
        time: str(a.created_at) || str(a.time) || str(a.timestamp),
        duration: wholeNumber(a.duration_ms),
        code: typeof a.code === 'string' ? a.code : null,
        error: isObject(a.error) ? a.error : null,
        reject: isObject(a.reject) ? a.reject : null,
        fixedBy: wholeNumber(a.fixed_by),
        changes: changes
      };
    });
  }

  function attemptDetail(a) {
    if (a.status === 'success') return 'Saved a result';
    if (a.status === 'rejected' && a.reject && a.reject.message) return sentence(a.reject.message);
    if (a.error && a.error.type) {
      var line = Number.isInteger(a.error.line) && a.error.line > 0 ? ' on line ' + a.error.line : '';
      if (a.status === 'error') return a.error.type + line + (a.error.message ? ': ' + a.error.message : '');
    }
    return STATUS_TEXT[a.status] || STATUS_WORD[a.status] || a.status;
  }

  function changeSummary(a, byId) {
    var parts = [];
    var c = a.changes;
    if (c) {
      if (c.same_code === true) parts.push('same code');
      else if (typeof c.lines_added === 'number' || typeof c.lines_removed === 'number') {
        parts.push('+' + (c.lines_added || 0) + ' −' + (c.lines_removed || 0) + ' lines');
      }
      if (Array.isArray(c.imports_added) && c.imports_added.length) {
        parts.push('added ' + c.imports_added.filter(function (x) { return typeof x === 'string'; }).join(', '));
      }
    }
    if (a.fixedBy && byId[a.fixedBy]) parts.push('fixed by attempt ' + byId[a.fixedBy].attempt);
    return parts.join(' · ');
  }

  function renderHistory(attempts, note) {
    els.historyList.textContent = '';
    var session = load('sessionStorage', KEYS.session);
    if (!attempts.length) {
      setText(els.historyInfo, note || 'Your attempts appear here: a failure, its fix, the success. ' +
        'Choose one to bring its code back into the editor.');
      return;
    }
    var byId = {};
    attempts.forEach(function (a) { if (a.id) byId[a.id] = a; });
    var fixes = attempts.filter(function (a) { return a.fixedBy; }).length;
    var last = attempts[attempts.length - 1];
    var info = attempts.length + (attempts.length === 1 ? ' attempt' : ' attempts') +
      (fixes ? ', ' + fixes + (fixes === 1 ? ' failure fixed' : ' failures fixed') : '') +
      '; the last one: ' + (STATUS_WORD[last.status] || last.status).toLowerCase() + '.';
    if (session) info += ' Session ' + session.slice(0, 8) + '…';
    setText(els.historyInfo, note ? note + ' ' + info : info);

    attempts.forEach(function (a) {
      var li = make('li', 'history-item status-' + a.status.replace(/[^a-z_]/g, ''));
      var button = make('button', 'history-button');
      button.type = 'button';
      button.dataset.logId = a.id ? String(a.id) : '';
      button.appendChild(make('span', 'visually-hidden', 'Bring back the code of '));
      var head = make('span', 'history-head');
      head.appendChild(make('span', 'history-title', 'Attempt ' + a.attempt));
      head.appendChild(make('span', 'badge badge-' + (a.status === 'success' ? 'ok' : 'fail'),
        STATUS_WORD[a.status] || a.status));
      var time = make('time', 'history-time', formatTime(a.time));
      if (a.time) time.dateTime = a.time;
      head.appendChild(time);
      if (a.duration != null) head.appendChild(make('span', 'history-duration', formatSeconds(a.duration)));
      button.appendChild(head);
      button.appendChild(make('span', 'history-detail', attemptDetail(a)));
      var changes = changeSummary(a, byId);
      if (changes) button.appendChild(make('span', 'history-changes', changes));
      button.addEventListener('click', function () {
        restoreAttempt(a);
      });
      li.appendChild(button);
      els.historyList.appendChild(li);
    });
    els.historyList.scrollTop = els.historyList.scrollHeight;
  }

  async function refreshHistory() {
    var token = ++historyToken;
    var session = load('sessionStorage', KEYS.session);
    if (!session || !SESSION_RE.test(session)) {
      renderHistory([]);
      return;
    }
    els.historyPanel.setAttribute('aria-busy', 'true');
    var attempts = null;
    var note = '';
    try {
      var got = await getJson(SESSION_URL + encodeURIComponent(session));
      if (got.ok) attempts = normaliseAttempts(got.body);
      else if (got.status === 404) attempts = [];
      if (attempts == null) note = 'The server’s history could not be read; showing the runs of this page.';
    } catch (e) {
      note = 'The server could not be reached; showing the runs of this page.';
    }
    if (token !== historyToken) return;
    els.historyPanel.removeAttribute('aria-busy');
    if (attempts == null) attempts = localAttempts.slice();
    renderHistory(attempts, note);
  }

  async function restoreAttempt(a) {
    var code = a.code;
    if (code == null && a.id) {
      try {
        var got = await getJson(LOG_URL + a.id);
        if (got.ok && isObject(got.body) && typeof got.body.code === 'string') code = got.body.code;
      } catch (e) {
        code = null;
      }
    }
    if (code == null) {
      editorNote('The code of attempt ' + a.attempt + ' could not be loaded.');
      return;
    }
    loadCode(code, 'Brought back the code of attempt ' + a.attempt + '. Ctrl+Z undoes it.');
    if (a.error && Number.isInteger(a.error.line) && a.error.line > 0) {
      markErrorLine(a.error.line, errorMessageOf(a.error));
    }
    editor.focus();
  }

  function newSession() {
    save('sessionStorage', KEYS.session, null);
    save('sessionStorage', KEYS.previous, null);
    localAttempts = [];
    historyToken++;
    renderHistory([], 'A new session starts with your next run.');
  }

  /* ---------- Running ---------- */

  var running = false;
  var startedAt = 0;
  var ticker = null;
  var timeLimitMs = 10000; // from /api/health when it answers

  function tick() {
    var ms = performance.now() - startedAt;
    setText(els.elapsed, (ms / 1000).toFixed(1) + ' s');
    if (running) {
      els.timeProgress.max = timeLimitMs;
      els.timeProgress.value = Math.min(ms, timeLimitMs);
    }
  }

  function startRunning() {
    running = true;
    startedAt = performance.now();
    els.run.setAttribute('aria-disabled', 'true');
    els.run.classList.add('running');
    setText(els.runLabel, 'Running…');
    els.form.setAttribute('aria-busy', 'true');
    els.progress.classList.add('running');
    setText(els.progressLabel, 'Running…');
    setText(els.timeLimit, 'of ' + Math.round(timeLimitMs / 1000) + ' s');
    show(els.timeLimit, true);
    show(els.progress, true);
    show(els.timeProgress, true);
    tick();
    ticker = setInterval(tick, 100);
    clearResult();
    clearErrorMarks();
    setStatus('Running the script…', 'busy');
  }

  function stopRunning() {
    clearInterval(ticker);
    ticker = null;
    tick();
    running = false;
    setText(els.progressLabel, 'Last run took');
    show(els.timeLimit, false);
    show(els.timeProgress, false);
    els.progress.classList.remove('running');
    els.form.removeAttribute('aria-busy');
    els.run.removeAttribute('aria-disabled');
    els.run.classList.remove('running');
    setText(els.runLabel, 'Run');
  }

  // Problems to fix before sending anything; null when ready.
  function preflight(code, params) {
    if (!code.trim()) return { message: 'Write some Python code first.', focus: editor };
    var size = byteLength(code);
    if (size > LIMITS.codeBytes) {
      return { message: 'The code is too long (' + formatBytes(size) + '); the limit is 256 KiB.', focus: editor };
    }
    if (!params.ok) return { message: 'Fix the parameters first: ' + params.message, focus: els.params };
    return null;
  }

  function revealResult() {
    var rect = els.resultPanel.getBoundingClientRect();
    if (rect.top >= window.innerHeight || rect.bottom <= 0) {
      var smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
      els.resultPanel.scrollIntoView({ behavior: smooth ? 'smooth' : 'auto', block: 'start' });
    }
  }

  async function run() {
    if (running) return;
    var code = editor.get();
    var params = validateParams();
    var problem = preflight(code, params);
    if (problem) {
      setStatus(problem.message, 'refused');
      setHint('');
      problem.focus.focus();
      return;
    }
    saveCodeNow();
    var form = buildForm(code, params.value);
    startRunning();
    var response;
    try {
      response = await fetch(RUN_URL, {
        method: 'POST',
        body: form,
        credentials: 'same-origin',
        headers: { Accept: 'application/json' }
      });
    } catch (e) {
      stopRunning();
      showRefusal({
        message: 'Could not reach the server.',
        hint: 'Check your connection and that the service is running, then try again.'
      });
      return;
    }
    var body = await readJson(response);
    stopRunning();
    if (!response.ok) {
      var refusal = describeRefusal(response, body);
      if (refusal.code === 'bad_params') els.params.classList.add('invalid');
      if (isObject(body)) rememberSession(body);
      showRefusal(refusal);
    } else if (!body || typeof body !== 'object' || typeof body.status !== 'string') {
      showRefusal({ message: 'The server sent an answer this page cannot read.', hint: 'Try again in a moment.' });
    } else {
      rememberAttempt(body);
      localAttempts.push({
        id: wholeNumber(body.log_id), attempt: wholeNumber(body.attempt) || localAttempts.length + 1,
        status: body.status, time: new Date().toISOString(), duration: wholeNumber(body.duration_ms),
        code: code, error: isObject(body.error) ? body.error : null, reject: null, fixedBy: null, changes: null
      });
      showResult(body);
    }
    revealResult();
    refreshHistory();
  }

  function requestRun() {
    run().catch(function () {
      if (running) stopRunning();
      showRefusal({ message: 'Something went wrong on this page while running the script.', hint: 'Reload the page and try again.' });
    });
  }

  /* ---------- The service's health ---------- */

  async function checkHealth() {
    var got;
    try {
      got = await getJson(HEALTH_URL);
    } catch (e) {
      setHealth('down', 'Server unreachable', 'The page could not reach the server.');
      return;
    }
    var body = isObject(got.body) ? got.body : {};
    if (typeof body.timeout_ms === 'number' && body.timeout_ms > 0) timeLimitMs = body.timeout_ms;
    if (got.ok && body.ok === true) {
      var slots = wholeNumber(body.slots);
      setHealth('ok', 'Sandbox ready', (slots ? slots + ' runs at once, ' : '') +
        Math.round(timeLimitMs / 1000) + ' s per run.');
    } else if (got.status === 404) {
      setHealth('unknown', 'Sandbox status unknown', '');
    } else {
      setHealth('down', 'Sandbox unavailable',
        typeof body.message === 'string' && body.message ? sentence(body.message) : 'Runs will be refused until it is back.');
    }
  }

  function setHealth(kind, text, detail) {
    els.health.className = 'health health-' + kind;
    setText(els.health, text);
    if (detail) {
      els.health.appendChild(make('span', 'visually-hidden', ': ' + detail));
      els.health.title = detail;
    }
  }

  /* ---------- Start-up ---------- */

  function findElements() {
    [
      ['form', 'run-form'], ['code', 'code'], ['codeLabel', 'code-label'], ['resetCode', 'reset-code'],
      ['imageField', 'image-field'],
      ['imageInput', 'image-input'], ['useSample', 'use-sample'], ['previewImg', 'preview-img'],
      ['imageInfo', 'image-info'], ['imageError', 'image-error'], ['params', 'params'],
      ['paramsError', 'params-error'], ['run', 'run'], ['runLabel', 'run-label'], ['progress', 'progress'],
      ['progressLabel', 'progress-label'], ['elapsed', 'elapsed'], ['timeLimit', 'time-limit'],
      ['timeProgress', 'time-progress'], ['resultPanel', 'result-panel'],
      ['status', 'status'], ['statusHint', 'status-hint'], ['runMeta', 'run-meta'], ['inputImg', 'input-img'],
      ['inputDims', 'input-dims'], ['resultImg', 'result-img'], ['resultDims', 'result-dims'],
      ['download', 'download'], ['errorBox', 'error-box'], ['error', 'error'], ['traceback', 'traceback'],
      ['errorGoto', 'error-goto'],
      ['truncatedNote', 'truncated-note'], ['stdout', 'stdout'], ['stderr', 'stderr'],
      ['editorNote', 'editor-note'], ['examplesButton', 'examples-button'], ['examplesMenu', 'examples-menu'],
      ['historyPanel', 'history-panel'], ['historyList', 'history-list'], ['historyInfo', 'history-info'],
      ['historyRefresh', 'history-refresh'], ['newSession', 'new-session'], ['health', 'health']
    ].forEach(function (pair) {
      els[pair[0]] = $(pair[1]);
    });
  }

  function bindEvents() {
    els.form.addEventListener('submit', function (e) {
      e.preventDefault();
      requestRun();
    });
    if (editor.kind === 'textarea') {
      els.code.addEventListener('keydown', onCodeKeydown);
      els.code.addEventListener('input', function () {
        clearErrorMarks();
        saveCodeSoon();
      });
      els.code.addEventListener('blur', function () { escapePressed = false; });
    } else {
      els.codeLabel.addEventListener('click', function (e) {
        e.preventDefault();
        editor.focus();
      });
    }
    els.resetCode.addEventListener('click', resetCode);
    els.params.addEventListener('input', validateParams);
    // Ctrl/Cmd+Enter runs from anywhere on the page (the editor handles its own).
    document.addEventListener('keydown', function (e) {
      if (isRunShortcut(e) && !e.defaultPrevented) {
        e.preventDefault();
        requestRun();
      }
    });
    els.imageInput.addEventListener('change', onFileInput);
    els.useSample.addEventListener('change', onSampleToggle);
    window.addEventListener('dragenter', onDragEnter);
    window.addEventListener('dragover', onDragOver);
    window.addEventListener('dragleave', onDragLeave);
    window.addEventListener('drop', onDrop);
    document.addEventListener('paste', onPaste);
    els.previewImg.addEventListener('load', onSampleLoaded);
    els.previewImg.addEventListener('error', onSampleFailed);
    els.resultImg.addEventListener('load', onResultLoaded);
    els.resultImg.addEventListener('error', onResultFailed);
    els.errorGoto.addEventListener('click', function () {
      var line = parseInt(els.errorGoto.dataset.line, 10);
      if (line > 0) editor.goToLine(line);
    });
    els.examplesButton.addEventListener('click', function () {
      if (els.examplesMenu.hidden) openMenu(false);
      else closeMenu(false);
    });
    els.examplesButton.addEventListener('keydown', onMenuButtonKeydown);
    els.examplesMenu.addEventListener('keydown', onMenuKeydown);
    document.addEventListener('pointerdown', function (e) {
      if (!els.examplesMenu.hidden && !e.target.closest('.menu')) closeMenu(false);
    });
    els.historyRefresh.addEventListener('click', refreshHistory);
    els.newSession.addEventListener('click', newSession);
    window.addEventListener('pagehide', function () {
      if (saveTimer) saveCodeNow();
    });
  }

  // Code handed over by the dashboard ("Open in the playground").
  function takeHandedCode() {
    var raw = load('sessionStorage', KEYS.open);
    if (!raw) return;
    save('sessionStorage', KEYS.open, null);
    var data;
    try {
      data = JSON.parse(raw);
    } catch (e) {
      return;
    }
    if (!isObject(data) || typeof data.code !== 'string') return;
    var id = wholeNumber(data.log_id);
    loadCode(data.code, 'Opened the code of log entry ' + (id ? '#' + id + ' ' : '') +
      'from the dashboard. Ctrl+Z brings your code back.');
    if (Number.isInteger(data.line) && data.line > 0) {
      markErrorLine(data.line, typeof data.message === 'string' ? data.message : '');
    }
  }

  function init() {
    findElements();
    restoreCode();
    var cmEditor = makeCodeMirrorEditor();
    if (cmEditor) editor = cmEditor;
    document.body.classList.add(editor.kind === 'codemirror' ? 'editor-codemirror' : 'editor-plain');
    buildExamplesMenu();
    bindEvents();
    validateParams();
    // The browser may restore a file or a tick from before a reload: honour it.
    // On a first visit the sample image is chosen, so that every example runs.
    if (els.imageInput.files && els.imageInput.files.length) onFileInput();
    else {
      els.useSample.checked = true;
      onSampleToggle();
    }
    takeHandedCode();
    checkHealth();
    refreshHistory();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
