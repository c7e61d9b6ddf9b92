// Reading a Token Status List (draft-ietf-oauth-status-list §4): `lst` is base64url (no padding)
// of a ZLIB stream of the byte array; entry i is `bits` bits at bit offset i × bits, counted from
// the least significant bit of each byte.
import { inflateSync } from "node:zlib";

export type StatusListBits = 1 | 2 | 4 | 8;

const BITS: readonly number[] = [1, 2, 4, 8];
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export class DecodedStatusList {
  readonly bits: StatusListBits;
  readonly #bytes: Uint8Array;
  readonly #mask: number;

  constructor(bytes: Uint8Array, bits: StatusListBits) {
    this.#bytes = bytes;
    this.bits = bits;
    this.#mask = (1 << bits) - 1;
  }

  /** Number of entries the bytes hold. */
  get size(): number {
    return (this.#bytes.length * 8) / this.bits;
  }

  /** The status of entry `index`, or undefined when the list has no such entry. */
  statusAt(index: number): number | undefined {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) return undefined;
    const offset = index * this.bits;
    return (this.#bytes[offset >>> 3]! >> (offset & 7)) & this.#mask;
  }
}

/**
 * Decodes `status_list: {bits, lst}`. Inflating stops at `maxBytes` so that a small hostile `lst`
 * cannot expand without bound (the draft's §11 asks for it). Throws a TypeError on anything else.
 */
export function decodeStatusList(statusList: unknown, maxBytes: number): DecodedStatusList {
  if (statusList === null || typeof statusList !== "object") throw new TypeError("status_list must be an object");
  const { bits, lst } = statusList as { bits?: unknown; lst?: unknown };
  if (typeof bits !== "number" || !BITS.includes(bits)) throw new TypeError("status_list.bits must be 1, 2, 4 or 8");
  if (typeof lst !== "string" || !BASE64URL.test(lst) || lst.length % 4 === 1) {
    throw new TypeError("status_list.lst must be base64url without padding");
  }
  let bytes: Buffer;
  try {
    bytes = inflateSync(Buffer.from(lst, "base64url"), { maxOutputLength: maxBytes });
  } catch (cause) {
    throw new TypeError(`status_list.lst is not a ZLIB stream of at most ${maxBytes} bytes`, { cause });
  }
  return new DecodedStatusList(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), bits as StatusListBits);
}
