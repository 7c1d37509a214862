/*
 * Image sandbox: the page that sends a Python script and an image to POST /run
 * and shows what came back (see shared/API.md for the contract).
 *
 * One plain script, no framework, no build step, no innerHTML: every piece of
 * text from the server or the person goes in through textContent. It works under
 * a strict CSP (script-src 'self', style-src 'self'): no inline script or style.
 *
 * Sections: constants, small helpers, storage, the code editor, parameters,
 * the input image, the request, showing the answer, running, start-up.
 * The editor is reached only through `editor` so that a richer one (CodeMirror)
 * can replace the textarea later without touching the rest.
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
    previous: 'imgsandbox.previous_attempt_id'
  };

  var RUN_URL = '/run';
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

  // What each status of a finished run means, in words (errors are built apart).
  var STATUS_TEXT = {
    timeout: 'Stopped: the script ran longer than the time limit',
    oom: 'Stopped: the script used more memory than allowed',
    no_output: 'The script finished but did not save /output/result.png',
    bad_output: 'The result is not a PNG image (or is too large)'
  };

  var STATUS_HINT = {
    error: 'Read the traceback below, fix the line it points at and run again.',
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

  // Turns a message from the server into a sentence: capital first, full stop last.
  function sentence(text) {
    var s = String(text).trim();
    if (!s) return '';
    s = s.charAt(0).toUpperCase() + s.slice(1);
    return /[.!?…]$/.test(s) ? s : s + '.';
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

  /* ---------- The code editor (a textarea for now) ---------- */

  var editor = {
    get: function () {
      return els.code.value;
    },
    set: function (text) {
      replaceText(els.code, 0, els.code.value.length, text, 0, 0);
    },
    focus: function () {
      els.code.focus();
    }
  };

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

  function onDragOver(e) {
    if (!e.dataTransfer || Array.prototype.indexOf.call(e.dataTransfer.types, 'Files') === -1) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    els.imageField.classList.add('dragging');
  }

  function onDragLeave() {
    els.imageField.classList.remove('dragging');
  }

  function onDrop(e) {
    els.imageField.classList.remove('dragging');
    if (!e.dataTransfer || !e.dataTransfer.files || !e.dataTransfer.files.length) return;
    e.preventDefault();
    try {
      els.imageInput.files = e.dataTransfer.files; // so the control shows the name
    } catch (err) {
      /* older browsers: the name is still shown in the preview line */
    }
    chooseFile(e.dataTransfer.files[0]);
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

  function rememberAttempt(result) {
    if (typeof result.session_id === 'string' && SESSION_RE.test(result.session_id)) {
      save('sessionStorage', KEYS.session, result.session_id);
    }
    var failed = result.status !== 'success' && result.log_id != null && /^\d+$/.test(String(result.log_id));
    save('sessionStorage', KEYS.previous, failed ? String(result.log_id) : null);
  }

  async function readJson(response) {
    try {
      var text = await response.text();
      return text ? JSON.parse(text) : null;
    } catch (e) {
      return null;
    }
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
    show(els.errorBox, false);
    setText(els.stdout, '');
    setText(els.stderr, '');
    show(els.truncatedNote, false);
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

  function showOutputImage(result) {
    var url = result.status === 'success' ? safeOutputUrl(result.url) : null;
    if (!url) return;
    els.resultImg.src = url;
    show(els.resultImg, true);
    els.download.href = url;
    show(els.download, true);
  }

  function onResultLoaded() {
    if (!els.resultImg.getAttribute('src')) return;
    setText(els.resultDims, formatDims(els.resultImg.naturalWidth, els.resultImg.naturalHeight));
  }

  function onResultFailed() {
    if (!els.resultImg.getAttribute('src')) return;
    show(els.resultImg, false);
    setHint('The result image could not be loaded; it may have been removed already. Run the script again.');
  }

  function showError(result) {
    var err = result.error && typeof result.error === 'object' ? result.error : null;
    if (result.status !== 'error' && !err) return;
    if (err) {
      var line = Number.isInteger(err.line) && err.line > 0 ? ' (line ' + err.line + ')' : '';
      var message = typeof err.message === 'string' && err.message ? ': ' + err.message : '';
      setText(els.error, String(err.type || 'Error') + message + line);
      var tb = typeof err.traceback === 'string' ? err.traceback : '';
      setText(els.traceback, tb);
      show(els.traceback, !!tb);
    } else {
      setText(els.error, errorSummary(result) + '. See stderr below.');
    }
    show(els.errorBox, true);
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

  /* ---------- Running ---------- */

  var running = false;
  var startedAt = 0;
  var ticker = null;

  function tick() {
    setText(els.elapsed, ((performance.now() - startedAt) / 1000).toFixed(1) + ' s');
  }

  function startRunning() {
    running = true;
    startedAt = performance.now();
    els.run.disabled = true;
    els.form.setAttribute('aria-busy', 'true');
    els.progress.classList.add('running');
    setText(els.progressLabel, 'Running…');
    show(els.progress, true);
    tick();
    ticker = setInterval(tick, 100);
    clearResult();
    setStatus('Running the script…', 'busy');
  }

  function stopRunning() {
    clearInterval(ticker);
    ticker = null;
    tick();
    setText(els.progressLabel, 'Last run took');
    els.progress.classList.remove('running');
    els.form.removeAttribute('aria-busy');
    els.run.disabled = false;
    running = false;
  }

  // Problems to fix before sending anything; null when ready.
  function preflight(code, params) {
    if (!code.trim()) return { message: 'Write some Python code first.', focus: els.code };
    var size = byteLength(code);
    if (size > LIMITS.codeBytes) {
      return { message: 'The code is too long (' + formatBytes(size) + '); the limit is 256 KiB.', focus: els.code };
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
      showRefusal(refusal);
    } else if (!body || typeof body !== 'object' || typeof body.status !== 'string') {
      showRefusal({ message: 'The server sent an answer this page cannot read.', hint: 'Try again in a moment.' });
    } else {
      rememberAttempt(body);
      showResult(body);
    }
    revealResult();
  }

  function requestRun() {
    run().catch(function () {
      if (running) stopRunning();
      showRefusal({ message: 'Something went wrong on this page while running the script.', hint: 'Reload the page and try again.' });
    });
  }

  /* ---------- Start-up ---------- */

  function findElements() {
    [
      ['form', 'run-form'], ['code', 'code'], ['resetCode', 'reset-code'], ['imageField', 'image-field'],
      ['imageInput', 'image-input'], ['useSample', 'use-sample'], ['previewImg', 'preview-img'],
      ['imageInfo', 'image-info'], ['imageError', 'image-error'], ['params', 'params'],
      ['paramsError', 'params-error'], ['run', 'run'], ['progress', 'progress'],
      ['progressLabel', 'progress-label'], ['elapsed', 'elapsed'], ['resultPanel', 'result-panel'],
      ['status', 'status'], ['statusHint', 'status-hint'], ['runMeta', 'run-meta'], ['inputImg', 'input-img'],
      ['inputDims', 'input-dims'], ['resultImg', 'result-img'], ['resultDims', 'result-dims'],
      ['download', 'download'], ['errorBox', 'error-box'], ['error', 'error'], ['traceback', 'traceback'],
      ['truncatedNote', 'truncated-note'], ['stdout', 'stdout'], ['stderr', 'stderr']
    ].forEach(function (pair) {
      els[pair[0]] = $(pair[1]);
    });
  }

  function bindEvents() {
    els.form.addEventListener('submit', function (e) {
      e.preventDefault();
      requestRun();
    });
    els.code.addEventListener('keydown', onCodeKeydown);
    els.code.addEventListener('input', saveCodeSoon);
    els.code.addEventListener('blur', function () { escapePressed = false; });
    els.resetCode.addEventListener('click', resetCode);
    els.params.addEventListener('input', validateParams);
    els.params.addEventListener('keydown', function (e) {
      if (isRunShortcut(e)) {
        e.preventDefault();
        requestRun();
      }
    });
    els.imageInput.addEventListener('change', onFileInput);
    els.useSample.addEventListener('change', onSampleToggle);
    els.imageField.addEventListener('dragover', onDragOver);
    els.imageField.addEventListener('dragleave', onDragLeave);
    els.imageField.addEventListener('drop', onDrop);
    els.previewImg.addEventListener('load', onSampleLoaded);
    els.previewImg.addEventListener('error', onSampleFailed);
    els.resultImg.addEventListener('load', onResultLoaded);
    els.resultImg.addEventListener('error', onResultFailed);
    window.addEventListener('pagehide', function () {
      if (saveTimer) saveCodeNow();
    });
  }

  function init() {
    findElements();
    restoreCode();
    bindEvents();
    validateParams();
    // The browser may restore a file or a tick from before a reload: honour it.
    if (els.useSample.checked) onSampleToggle();
    else if (els.imageInput.files && els.imageInput.files.length) onFileInput();
    else renderSource();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
