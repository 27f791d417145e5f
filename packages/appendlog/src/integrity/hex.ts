import { Buffer } from 'node:buffer';

const HEX_PATTERN = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Encodes bytes as lowercase hexadecimal.
 *
 * @example
 * ```ts
 * toHex(new Uint8Array([0xde, 0xad])); // 'dead'
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Decodes hexadecimal (either case) into a fresh `Uint8Array`.
 *
 * @throws {TypeError} if the string has an odd length or a non-hex character.
 *
 * @example
 * ```ts
 * fromHex('dead'); // Uint8Array [0xde, 0xad]
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  if (!HEX_PATTERN.test(hex)) {
    throw new TypeError(`not an even-length hex string: ${JSON.stringify(hex.slice(0, 80))}`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
