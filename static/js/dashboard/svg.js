/*
 * SVG built node by node (createElementNS), never from markup.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

// A new SVG element with attributes, appended to parent when given.
export function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVG_NS, tag);
  Object.keys(attrs || {}).forEach(function (k) {
    el.setAttribute(k, String(attrs[k]));
  });
  if (parent) parent.appendChild(el);
  return el;
}

// A tooltip (and accessible name) for an SVG element.
export function svgTitle(el, text) {
  const t = svg('title', {}, el);
  t.textContent = text;
  return t;
}

// An SVG text element holding text.
export function svgText(parent, attrs, text) {
  const t = svg('text', attrs, parent);
  t.textContent = text;
  return t;
}
