/*
 * The starter examples (static/examples/<file>, fetched when chosen) and
 * their menu: a button that opens a list of menu items, worked by mouse or
 * keyboard (arrows, Home, End, Esc, Tab).
 */

import { make, show } from '../dom.js';
import { DEFAULT_CODE, editorNote, loadCode } from './code.js';
import { editor } from './editor.js';
import { els } from './els.js';
import { validateParams } from './params.js';

const EXAMPLES = [
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

function menuItem(ex, i) {
  const li = make('li');
  li.setAttribute('role', 'none');
  const item = make('button', 'menu-item');
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
  return li;
}

function menuItems() {
  return Array.prototype.slice.call(els.examplesMenu.querySelectorAll('[role="menuitem"]'));
}

function openMenu(focusLast) {
  show(els.examplesMenu, true);
  els.examplesButton.setAttribute('aria-expanded', 'true');
  const items = menuItems();
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
  const items = menuItems();
  const i = items.indexOf(document.activeElement);
  let next = null;
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

// The example's code: its own, or fetched; null (and a note) when it cannot be had.
async function exampleCode(ex) {
  if (ex.code != null) return ex.code;
  editorNote('Loading the “' + ex.title + '” example…');
  try {
    const response = await fetch('examples/' + ex.file, { credentials: 'same-origin' });
    if (!response.ok) throw new Error('HTTP ' + response.status);
    return await response.text();
  } catch (e) {
    editorNote('The “' + ex.title + '” example could not be loaded; check the connection and try again.');
    return null;
  }
}

async function chooseExample(ex) {
  const code = await exampleCode(ex);
  if (code == null) return;
  loadCode(code, 'Loaded the “' + ex.title + '” example. Ctrl+Z brings your code back.');
  if (ex.params != null) {
    els.params.value = ex.params;
    validateParams();
  }
  editor.focus();
}

// Builds the menu and makes it work.
export function startExamplesMenu() {
  EXAMPLES.forEach(function (ex, i) {
    els.examplesMenu.appendChild(menuItem(ex, i));
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
}
