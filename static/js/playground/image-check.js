/*
 * Checks a chosen image file as the server would (shared/facts/image_check.c):
 * PNG or JPEG by content, never by name; its size and pixel count within
 * the service's limits (when known); readable by the browser.
 */

import { formatBytes, formatLimitBytes, formatMegapixels } from '../format.js';
import { limits } from './limits.js';

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

// A JPEG's pixel size from its first frame header; null when not found.
function jpegDimensions(bytes) {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1];
    if (marker === 0xff) { i += 1; continue; }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) { i += 2; continue; }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      const height = u16(bytes, i + 5);
      const width = u16(bytes, i + 7);
      return height && width ? { width: width, height: height } : null;
    }
    i += 2 + u16(bytes, i + 2);
  }
  return null;
}

// Pixel size from the file's header, without decoding it; null when not found.
function readDimensions(bytes, type) {
  if (type === 'png') {
    if (bytes.length < 24 || String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]) !== 'IHDR') return null;
    return { width: u32(bytes, 16), height: u32(bytes, 20) };
  }
  return jpegDimensions(bytes);
}

function decodeImage(url) {
  return new Promise(function (resolve) {
    const img = new Image();
    img.onload = function () { resolve({ width: img.naturalWidth, height: img.naturalHeight }); };
    img.onerror = function () { resolve(null); };
    img.src = url;
  });
}

function tooManyPixels(name, dims) {
  const pixels = dims.width * dims.height;
  const mp = pixels >= 1e6 ? (pixels / 1e6).toFixed(1) : formatMegapixels(pixels);
  return name + ' is ' + dims.width + ' × ' + dims.height + ' pixels (' + mp + ' megapixels); the limit is ' +
    formatMegapixels(limits.imagePixels) + ' megapixels.';
}

function overPixels(dims) {
  return limits.imagePixels != null && dims.width * dims.height > limits.imagePixels;
}

// What is wrong with the file's size, or '' (a limit not yet known is the server's to check).
function sizeProblem(file, name) {
  if (file.size === 0) return name + ' is empty.';
  if (limits.imageBytes != null && file.size > limits.imageBytes) {
    return name + ' is ' + formatBytes(file.size) + '; the limit is ' + formatLimitBytes(limits.imageBytes) +
      '. Choose a smaller image.';
  }
  return '';
}

// Checks a chosen file as the server would; resolves {error} or {url, width, height, type}.
// The url is an object URL the caller revokes.
export async function checkImageFile(file) {
  const name = '“' + file.name + '”';
  const problem = sizeProblem(file, name);
  if (problem) return { error: problem };
  const bytes = new Uint8Array(await file.arrayBuffer());
  const type = sniffImageType(bytes);
  if (!type) return { error: name + ' is not a PNG or JPEG image. Choose a .png or .jpg file.' };
  const dims = readDimensions(bytes, type);
  if (dims && overPixels(dims)) return { error: tooManyPixels(name, dims) };
  const url = URL.createObjectURL(file);
  const decoded = await decodeImage(url);
  if (!decoded || !decoded.width) {
    URL.revokeObjectURL(url);
    return { error: name + ' could not be read as an image; it may be damaged.' };
  }
  if (overPixels(decoded)) {
    URL.revokeObjectURL(url);
    return { error: tooManyPixels(name, decoded) };
  }
  return { url: url, width: decoded.width, height: decoded.height, type: type };
}
