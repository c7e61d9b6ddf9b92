// The Token Status List's byte array and its `lst` encoding (draft-ietf-oauth-status-list §4.1,
// §4.2): N entries of `bits` ∈ {1, 2, 4, 8}; entry i occupies `bits` bits at bit offset i × bits,
// counted from the least significant bit of each byte; the array is ZLIB-compressed (RFC 1950
// around RFC 1951 DEFLATE, highest level, as the draft recommends) and base64url-encoded without
// padding. Pure: no storage, no clock, no signing (the Status List Token wraps `encode()`).
import { constants, deflateSync, inflateSync } from "node:zlib";

export type StatusListBits = 1 | 2 | 4 | 8;

/** The bit widths the draft allows (§4.1 step 1): one byte always holds a whole number of entries. */
export const STATUS_LIST_BITS: readonly StatusListBits[] = [1, 2, 4, 8];

/** Status Type values of §7.1 that tessera sets. */
export const STATUS_VALID = 0;
export const STATUS_INVALID = 1;

/**
 * The largest byte array `decode` inflates (16 MiB: 2^27 entries of 1 bit), so that a small
 * hostile `lst` cannot expand without bound (the draft's §11.1 asks for careful decoding).
 */
export const MAX_DECODED_BYTES = 16 * 1024 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

const isBits = (bits: unknown): bits is StatusListBits => STATUS_LIST_BITS.includes(bits as StatusListBits);

export class StatusList {
  /** Number of entries; valid indexes are 0 … size − 1. */
  readonly size: number;
  readonly bits: StatusListBits;
  readonly #bytes: Uint8Array;
  readonly #mask: number;

  /** A list of `size` entries, all 0 (VALID). */
  constructor(size: number, bits: StatusListBits) {
    if (!isBits(bits)) throw new TypeError(`status list bits must be 1, 2, 4 or 8, got ${String(bits)}`);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new TypeError(`status list size must be a non-negative integer, got ${String(size)}`);
    }
    this.size = size;
    this.bits = bits;
    this.#bytes = new Uint8Array(Math.ceil((size * bits) / 8));
    this.#mask = (1 << bits) - 1;
  }

  /**
   * The list held by a byte array (copied). Its size is every entry the bytes hold:
   * bytes.length × 8 / bits.
   */
  static fromBytes(bytes: Uint8Array, bits: StatusListBits): StatusList {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("status list bytes must be a Uint8Array");
    if (!isBits(bits)) throw new TypeError(`status list bits must be 1, 2, 4 or 8, got ${String(bits)}`);
    const list = new StatusList((bytes.length * 8) / bits, bits);
    list.#bytes.set(bytes);
    return list;
  }

  /**
   * The list an `lst` string holds (§4.2): base64url without padding of a ZLIB stream. The size
   * is what the inflated bytes hold (the draft carries no entry count). A string that is not
   * base64url, not a complete ZLIB stream, or inflates beyond MAX_DECODED_BYTES is refused with
   * a TypeError.
   */
  static decode(lst: string, bits: StatusListBits): StatusList {
    if (!isBits(bits)) throw new TypeError(`status list bits must be 1, 2, 4 or 8, got ${String(bits)}`);
    if (typeof lst !== "string" || !BASE64URL.test(lst) || lst.length % 4 === 1) {
      throw new TypeError("status list lst must be base64url without padding");
    }
    let bytes: Buffer;
    try {
      bytes = inflateSync(Buffer.from(lst, "base64url"), { maxOutputLength: MAX_DECODED_BYTES });
    } catch (cause) {
      throw new TypeError("status list lst is not a ZLIB stream within the size limit", { cause });
    }
    return StatusList.fromBytes(bytes, bits);
  }

  /** The status of entry `index`. */
  get(index: number): number {
    this.#checkIndex(index);
    const bitOffset = index * this.bits;
    return (this.#bytes[Math.floor(bitOffset / 8)]! >> (bitOffset % 8)) & this.#mask;
  }

  /** Sets entry `index` to `status` (0 … 2^bits − 1). */
  set(index: number, status: number): void {
    this.#checkIndex(index);
    if (!Number.isInteger(status) || status < 0 || status > this.#mask) {
      throw new TypeError(`status must be an integer from 0 to ${this.#mask} for ${this.bits}-bit entries, got ${String(status)}`);
    }
    const bitOffset = index * this.bits;
    const byte = Math.floor(bitOffset / 8);
    const shift = bitOffset % 8;
    this.#bytes[byte] = (this.#bytes[byte]! & ~(this.#mask << shift)) | (status << shift);
  }

  /** A copy of the uncompressed byte array (§4.1 step 2). */
  toBytes(): Uint8Array {
    return this.#bytes.slice();
  }

  /** The `lst` value (§4.1 step 3, §4.2): base64url (no padding) of the ZLIB-compressed bytes. */
  encode(): string {
    return deflateSync(this.#bytes, { level: constants.Z_BEST_COMPRESSION }).toString("base64url");
  }

  #checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      if (this.size === 0) throw new TypeError(`status list has no entries, got index ${String(index)}`);
      throw new TypeError(`status list index must be an integer from 0 to ${this.size - 1}, got ${String(index)}`);
    }
  }
}
