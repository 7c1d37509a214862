/*
 * Small DOM and value helpers shared by the playground and the dashboard.
 * Text goes in through textContent only, never markup: everything shown may
 * come from the server or the person.
 */

export function $(id) {
  return document.getElementById(id);
}

// Fills an object {name: element} from [[name, id], ...]; returns it.
export function findElements(into, pairs) {
  pairs.forEach(function (pair) {
    into[pair[0]] = $(pair[1]);
  });
  return into;
}

export function show(el, visible) {
  el.hidden = !visible;
}

export function setText(el, text) {
  el.textContent = text == null ? '' : String(text);
}

// A new element with a class and text (never markup).
export function make(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text != null) el.textContent = String(text);
  return el;
}

export function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// The value when it is a whole number, else null.
export function wholeNumber(v) {
  return typeof v === 'number' && isFinite(v) && Math.floor(v) === v ? v : null;
}

// The value when it is a finite number, else null.
export function num(v) {
  return typeof v === 'number' && isFinite(v) ? v : null;
}

// The value when it is a string, else ''.
export function str(v) {
  return typeof v === 'string' ? v : '';
}

// The value when it is an array, else [].
export function arr(v) {
  return Array.isArray(v) ? v : [];
}
