/**
 * FNV-1a, 32-bit: the hash under the tree digest (digest.ts) and the child table
 * (node-table.ts). Plain JavaScript over characters or bytes, allocating nothing.
 */

/** The FNV-1a hash of nothing: where every hash starts. */
export const EMPTY_HASH = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Continues hash `h` over the UTF-16 units of `text[start, end)`. */
export function hashText(h: number, text: string, start = 0, end = text.length): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** Continues hash `h` over `bytes`. */
export function hashBytes(h: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h >>> 0;
}

/**
 * hashText of the text whose UTF-8 is `utf8` (a name as the tree stores it): an ASCII name's
 * bytes are its characters, so only another name is decoded first.
 */
export function hashUtf8AsText(h: number, utf8: Uint8Array): number {
  return isAscii(utf8) ? hashBytes(h, utf8) : hashText(h, textOfUtf8(utf8));
}

/** The length in UTF-16 units of the text whose UTF-8 is `utf8`. */
export function utf16Length(utf8: Uint8Array): number {
  return isAscii(utf8) ? utf8.length : textOfUtf8(utf8).length;
}

export function textOfUtf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}
