// PNG files made here (no image library needed).

import zlib from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

// The rows of an RGB picture: a colour gradient with a dark disc.
function pixels(width, height) {
  const stride = width * 3 + 1;
  const raw = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    raw[y * stride] = 0;
    for (let x = 0; x < width; x++) {
      const i = y * stride + 1 + x * 3;
      const inDisc = (x - width * 0.6) ** 2 + (y - height * 0.5) ** 2 < (height * 0.28) ** 2;
      raw[i] = inDisc ? 30 : Math.round((255 * x) / (width - 1));
      raw[i + 1] = inDisc ? 30 : Math.round((255 * y) / (height - 1));
      raw[i + 2] = inDisc ? 60 : 160;
    }
  }
  return raw;
}

// A PNG of width x height; padding bytes of text (a tEXt chunk) make the
// file that much larger without adding a pixel.
export function makePng(width, height, padding = 0) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const chunks = [pngChunk('IHDR', ihdr)];
  if (padding > 0) chunks.push(pngChunk('tEXt', Buffer.concat([Buffer.from('Comment\0'), Buffer.alloc(padding, 0x2e)])));
  chunks.push(pngChunk('IDAT', zlib.deflateSync(pixels(width, height))), pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}
