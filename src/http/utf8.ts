/**
 * Strict UTF-8 for what arrives on the wire. Node would read invalid sequences as U+FFFD and store
 * them; Placement refuses an undecodable body with 400, and a replaced character in a path or a query
 * silently changes what was asked for, so all three are refused.
 */
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes as UTF-8 text; undefined when they are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}

const HEX = /^[0-9a-fA-F]{2}$/;

/**
 * Percent-decode a URL component as bytes, then read them as strict UTF-8; undefined when they are
 * not UTF-8. A `%` not followed by two hex digits stays as it is (as WSGI servers leave it). The URL
 * Node hands over holds one byte per character (latin1), so raw bytes count the same as escaped ones.
 */
export function percentDecodeUtf8(text: string, plusIsSpace = false): string | undefined {
  if (!/[%+\u0080-\uffff]/.test(text)) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '%' && HEX.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (char === '+' && plusIsSpace) {
      bytes.push(0x20);
    } else {
      const code = text.charCodeAt(i);
      if (code > 0xff) bytes.push(...Buffer.from(char, 'utf8'));
      else bytes.push(code);
    }
  }
  return decodeUtf8(Uint8Array.from(bytes));
}

/**
 * Where and why bytes are not UTF-8, in the words of Python's codec error (what Placement's
 * `Malformed JSON: ...` carries), e.g. `'utf-8' codec can't decode byte 0xff in position 3: invalid start byte`.
 */
export function describeUtf8Error(bytes: Uint8Array): string | undefined {
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i];
    const need =
      lead < 0x80
        ? 0
        : lead >= 0xc2 && lead <= 0xdf
          ? 1
          : lead >= 0xe0 && lead <= 0xef
            ? 2
            : lead >= 0xf0 && lead <= 0xf4
              ? 3
              : -1;
    if (need < 0) return codecError(lead, i, 'invalid start byte');
    for (let k = 1; k <= need; k++) {
      if (i + k >= bytes.length) {
        const end = i + k - 1;
        return end > i
          ? `'utf-8' codec can't decode bytes in position ${i}-${end}: unexpected end of data`
          : codecError(lead, i, 'unexpected end of data');
      }
      const next = bytes[i + k];
      const [low, high] =
        k === 1 && lead === 0xe0
          ? [0xa0, 0xbf]
          : k === 1 && lead === 0xed
            ? [0x80, 0x9f]
            : k === 1 && lead === 0xf0
              ? [0x90, 0xbf]
              : k === 1 && lead === 0xf4
                ? [0x80, 0x8f]
                : [0x80, 0xbf];
      if (next < low || next > high) {
        return k === 1
          ? codecError(lead, i, 'invalid continuation byte')
          : `'utf-8' codec can't decode bytes in position ${i}-${i + k - 1}: invalid continuation byte`;
      }
    }
    i += need + 1;
  }
  return undefined;
}

const codecError = (byte: number, position: number, reason: string) =>
  `'utf-8' codec can't decode byte 0x${byte.toString(16).padStart(2, '0')} in position ${position}: ${reason}`;
