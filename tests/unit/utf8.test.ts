import { describeUtf8Error, percentDecodeUtf8 } from '../../src/http/utf8';

const bytes = (...values: number[]) => Uint8Array.from(values);

describe("describeUtf8Error words undecodable bytes as Python's utf-8 codec does", () => {
  it.each([
    [bytes(0x61, 0xff), "'utf-8' codec can't decode byte 0xff in position 1: invalid start byte"],
    [bytes(0xc0, 0x80), "'utf-8' codec can't decode byte 0xc0 in position 0: invalid start byte"],
    [bytes(0xe2, 0x28, 0xa1), "'utf-8' codec can't decode byte 0xe2 in position 0: invalid continuation byte"],
    [bytes(0xe2, 0x82, 0x28), "'utf-8' codec can't decode bytes in position 0-1: invalid continuation byte"],
    [bytes(0x61, 0xc3), "'utf-8' codec can't decode byte 0xc3 in position 1: unexpected end of data"],
    [bytes(0xe2, 0x82), "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data"],
  ])('%p', (input, message) => {
    expect(describeUtf8Error(input)).toBe(message);
  });

  it('finds nothing wrong in valid UTF-8', () => {
    expect(describeUtf8Error(Buffer.from('{"name": "é€😀"}'))).toBeUndefined();
  });
});

describe('percentDecodeUtf8', () => {
  it('decodes escapes and plus as bytes of UTF-8', () => {
    expect(percentDecodeUtf8('%C3%A9t%C3%A9+x', true)).toBe('été x');
    expect(percentDecodeUtf8('a+b')).toBe('a+b');
  });

  it('leaves a malformed escape as it is, as WSGI servers do', () => {
    expect(percentDecodeUtf8('100%zz')).toBe('100%zz');
  });

  it('refuses bytes that are not UTF-8, escaped or raw', () => {
    expect(percentDecodeUtf8('%FF')).toBeUndefined();
    expect(percentDecodeUtf8('\u00ff')).toBeUndefined();
    expect(percentDecodeUtf8('%C3')).toBeUndefined();
  });
});
