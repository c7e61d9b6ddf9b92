// The Token Status List encoding (draft-ietf-oauth-status-list §4.1, §4.2) against the draft's own
// examples: §4.1's 1-bit and 2-bit lists, and Appendix C's test vectors (2^20 entries of 1, 2, 4
// and 8 bits). The `lst` strings and the listed statuses are copied from the draft (-16, its
// Appendix C); a transcription slip would fail the ZLIB checksum or the status comparison.
import { deflateSync } from "node:zlib";
import t from "tap";
import {
  MAX_DECODED_BYTES,
  STATUS_INVALID,
  StatusList,
  type StatusListBits,
} from "../../../src/domain/tokens/status-list.js";

/** The draft prints long `lst` values wrapped over several lines. */
const lst = (...lines: string[]): string => lines.join("");

/** Every entry that is not 0 (VALID), as [index, status] pairs in index order. */
const nonZero = (list: StatusList): Array<[number, number]> => {
  const found: Array<[number, number]> = [];
  for (let i = 0; i < list.size; i++) {
    const status = list.get(i);
    if (status !== 0) found.push([i, status]);
  }
  return found;
};

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** Appendix C: "All examples are initialized with a size of 2^20 entries." */
const SIZE = 2 ** 20;

t.test("§4.1's 1-bit example: 16 entries → bytes B9 A3 → the draft's lst, exactly", async (t) => {
  const statuses = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
  const list = new StatusList(16, 1);
  statuses.forEach((status, i) => list.set(i, status));
  t.equal(hex(list.toBytes()), "b9a3", "entry 0 is the least significant bit of byte 0");
  // For arrays this small every zlib at level 9 writes the same stream as the draft's generator
  // (Python's zlib.compress), so encode() gives the draft's lst character for character.
  t.equal(list.encode(), "eNrbuRgAAhcBXQ");
  const decoded = StatusList.decode("eNrbuRgAAhcBXQ", 1);
  t.equal(decoded.size, 16);
  t.same(Array.from({ length: 16 }, (_, i) => decoded.get(i)), statuses);
});

t.test("§4.1's 2-bit example: 12 entries → bytes C9 44 F9 → the draft's lst, exactly", async (t) => {
  const statuses = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
  const list = new StatusList(12, 2);
  statuses.forEach((status, i) => list.set(i, status));
  t.equal(hex(list.toBytes()), "c944f9", "entry 0 is the two least significant bits of byte 0");
  t.equal(list.encode(), "eNo76fITAAPfAgc");
  const decoded = StatusList.decode("eNo76fITAAPfAgc", 2);
  t.equal(decoded.size, 12);
  t.same(Array.from({ length: 12 }, (_, i) => decoded.get(i)), statuses);
});

interface Vector {
  bits: StatusListBits;
  /** The listed statuses, [index, status], in the draft's order. */
  statuses: Array<[number, number]>;
  lst: string;
  /** The length of the same ZLIB stream in the draft's CBOR encoding (its byte string header). */
  compressedBytes: number;
}

// Appendix C.4 lists the 8-bit statuses 0b00000000 … 0b11111111 in increasing order, one index
// each: the status of INDEXES_8[k] is k.
const INDEXES_8 = [
  233478, 52451, 576778, 513575, 468106, 292632, 214947, 182323, 884834, 66653, 62489, 196493, 458517, 487925, 55649, 416992,
  879796, 462297, 942059, 583408, 13628, 334829, 886286, 713557, 582738, 326064, 451545, 705889, 214350, 194502, 796765, 202828,
  752834, 721327, 554740, 91122, 963483, 261779, 793844, 165255, 614839, 758403, 403258, 145867, 96100, 477937, 606890, 167335,
  488197, 211815, 797182, 582952, 950870, 765108, 341110, 776325, 745056, 439368, 559893, 149741, 358903, 513405, 342679, 969429,
  795775, 566121, 460566, 680070, 117310, 480348, 67319, 661552, 841303, 561493, 138807, 442463, 659927, 445910, 1046963, 829700,
  962282, 299623, 555493, 292826, 517215, 551009, 898490, 837603, 759161, 459948, 290102, 1034977, 190650, 98810, 229950, 320531,
  335506, 885333, 133227, 806915, 800313, 981571, 527253, 24077, 240232, 559572, 713399, 233941, 615514, 911768, 331680, 951527,
  6805, 552366, 374660, 223159, 625884, 417146, 320527, 784154, 338792, 1199, 679804, 1024680, 40845, 234603, 761225, 644903,
  502167, 121477, 505144, 165165, 179628, 1019195, 145149, 263738, 269256, 996739, 346296, 555864, 887384, 444173, 421844, 653716,
  836747, 783119, 918762, 946835, 253764, 519895, 471224, 134272, 709016, 44112, 482585, 461829, 15080, 148883, 123467, 480125,
  141348, 65877, 692958, 148598, 499131, 584009, 1017987, 449287, 277478, 991262, 509602, 991896, 853666, 399318, 197815, 203278,
  903979, 743015, 888308, 862143, 979421, 113605, 206397, 127113, 844358, 711569, 229153, 521470, 401793, 398896, 940810, 293983,
  884749, 384802, 584151, 970201, 523882, 158093, 929312, 205329, 106091, 30949, 195586, 495723, 348779, 852312, 1018463, 1009481,
  448260, 841042, 122967, 345269, 794764, 4520, 818773, 556171, 954221, 598210, 887110, 1020623, 324632, 398244, 622241, 456551,
  122648, 127837, 657676, 119884, 105156, 999897, 330160, 119285, 168005, 389703, 143699, 142524, 493258, 846778, 251420, 516351,
  83344, 171931, 879178, 663475, 546865, 428362, 658891, 500560, 557034, 830023, 274471, 629139, 958869, 663071, 152133, 19535,
];

const APPENDIX_C: Vector[] = [
  {
    bits: 1,
    compressedBytes: 189,
    statuses: [
      [0, 1], [1993, 1], [25460, 1], [159495, 1], [495669, 1], [554353, 1],
      [645645, 1], [723232, 1], [854545, 1], [934534, 1], [1000345, 1],
    ],
    lst: lst(
      "eNrt3AENwCAMAEGogklACtKQPg9LugC9k_ACvreiogE",
      "AAKkeCQAAAAAAAAAAAAAAAAAAAIBylgQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAXG9IAAAAAAAAAPwsJAAAAAAAAAAAAAAAvhsSAAAAAAAAAAA",
      "A7KpLAAAAAAAAAAAAAAAAAAAAAJsLCQAAAAAAAAAAADjelAAAAAAAAAAAKjDMAQAAA",
      "ACAZC8L2AEb",
    ),
  },
  {
    bits: 2,
    compressedBytes: 317,
    statuses: [
      [0, 0b01], [1993, 0b10], [25460, 0b01], [159495, 0b11], [495669, 0b01], [554353, 0b01],
      [645645, 0b10], [723232, 0b01], [854545, 0b01], [934534, 0b10], [1000345, 0b11],
    ],
    lst: lst(
      "eNrt2zENACEQAEEuoaBABP5VIO01fCjIHTMStt9ovGV",
      "IAAAAAABAbiEBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEB5WwIAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAID0ugQAAAAAAAAAAAAAAAAAQG12SgAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAOCSIQEAAAAAAAAAAAAAAAAAAAAAAAD8ExIAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAwJEuAQAAAAAAAAAAAAAAAAAAAAAAAMB9S",
      "wIAAAAAAAAAAAAAAAAAAACoYUoAAAAAAAAAAAAAAEBqH81gAQw",
    ),
  },
  {
    bits: 4,
    compressedBytes: 584,
    statuses: [
      [0, 0b0001], [1993, 0b0010], [35460, 0b0011], [459495, 0b0100], [595669, 0b0101],
      [754353, 0b0110], [845645, 0b0111], [923232, 0b1000], [924445, 0b1001], [934534, 0b1010],
      [1004534, 0b1011], [1000345, 0b1100], [1030203, 0b1101], [1030204, 0b1110], [1030205, 0b1111],
    ],
    lst: lst(
      "eNrt0EENgDAQADAIHwImkIIEJEwCUpCEBBQRHOy35Li",
      "1EjoOQGabAgAAAAAAAAAAAAAAAAAAACC1SQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABADrsCAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "AAADoxaEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIIoCgAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACArpwKAAAAAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAGhqVkAzlwIAAAAAiGVRAAAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAAAABx3AoAgLpVAQAAAAAAAAAAAAAAwM89rwMAAAAAAAAAA",
      "AjsA9xMBMA",
    ),
  },
  {
    bits: 8,
    compressedBytes: 1968,
    statuses: INDEXES_8.map((index, status): [number, number] => [index, status]),
    lst: lst(
      "eNrt0WOQM2kYhtGsbdu2bdu2bdu2bdu2bdu2jVnU1my",
      "-SWYm6U5enFPVf7ue97orFYAo7CQBAACQuuckAABStqUEAAAAAAAAtN6wEgAE71QJA",
      "AAAAIrwhwQAAAAAAdtAAgAAAAAAACLwkAQAAAAAAAAAAACUaFcJAACAeJwkAQAAAAA",
      "AAABQvL4kAAAAWmJwCQAAAAAAAAjAwBIAAAB06ywJoDKQBARpfgkAAAAAAAAAAAAAA",
      "AAAAACo50sJAAAAAAAAAOiRcSQAAAAAgAJNKgEAAG23mgQAAAAAAECw3pUAQvegBAA",
      "AAAAAAADduE4CAAAAyjSvBAAQiw8koHjvSABAb-wlARCONyVoxtMSZOd0CQAAAOjWD",
      "RKQmLckAAAAAACysLYEQGcnSAAAAAAQooUlAABI15kSAIH5RAIgLB9LABC4_SUgGZN",
      "IAABAmM6RoLbTJIASzCIBAEAhfpcAAAAAAABquk8CAAAAAAAAaJl9SvvzBOICAFWmk",
      "IBgfSgBAAAANOgrCQAAAAAAAADStK8EAAC03gASAAAAAAAAAADFWFUCAAAAMjOaBEA",
      "DHpYAQjCIBADduFwCAAAAAGitMSSI3BUSAECOHpAA6IHrJQAAAAAAsjeVBAAAKRpVA",
      "orWvwQAAAAAAAAAkKRtJAAAAAAAgCbcLAF0bXUJAAAAoF02kYDg7CYBAAAAAEB6NpQ",
      "AAAAAAAAAAAAAAEr1uQQAAF06VgIAAAAAAAAAqDaeBAAQqgMkAAAAAABogQMlAAAAA",
      "AAa87MEAAAQiwslAAAAAAAAAAAAAAAAMrOyBAAAiekv-hcsY0Sgne6QAAAAAAAgaUt",
      "JAAAAAAAAAAAAAAAAAAAAAAAAAADwt-07vjVkAAAAgDy8KgFAUEaSAAAAAJL3vgQAW",
      "dhcAgAAoBHDSUDo1pQAAACI2o4SAABZm14CALoyuwQAAPznGQkgZwdLAAAQukclAAA",
      "AAAAAAAAAgKbMKgEAAAAAAAAAAAAAAAAAAECftpYAAAAAAAAAAAAACnaXBAAAAADk7",
      "iMJAAAAAAAAAABqe00CAnGbBBG4TAIAgFDdKgFAXCaWAAAAAAAAAAAAAAAAAKAJQwR",
      "72XbGAQAAAKAhh0sAAAAAAABQgO8kAAAAAAAAAAAAACAaM0kAAAC5W0QCAIJ3mAQAx",
      "GwxCQAA6nhSAsjZBRIAANEbWQIAAAAAaJE3JACAwA0qAUBIVpKAlphbAiAPp0iQnKE",
      "kAAAAAAAgBP1KAAAAdOl4CQAAAAAAAPjLZBIAAG10RtrPm8_CAEBMTpYAAAAAAIjQY",
      "BL8z5QSAAAAAEDYPpUAACAsj0gAAADQkHMlAAjHDxIA0Lg9JQAAgHDsLQEAAABAQS6",
      "WAAAAgLjNFs2l_RgLAIAEfCEBlGZZCQAAaIHjJACgtlskAAAozb0SAAAAVFtfAgAAA",
      "AAAAAAAAAAAAAAAAAAAAKDDtxIAAAAAVZaTAKB5W0kAANCAsSUgJ0tL0GqHSNBbL0g",
      "AZflRAgCARG0kQXNmlgCABiwkAQAAAEB25pIAAAAAAAAAAAAAoFh9SwAAAAAAADWNm",
      "OSrpjFsEoaRgDKcF9Q1dxsEAAAAAAAAAAAAAAAAgPZ6SQIAAAAAAAAAgChMLgEAAAA",
      "AAAAAqZlQAsK2qQQAAAAAAAD06XUJAAAAqG9bCQAAgLD9IgEAAAAAAAAAAAAAAAAAA",
      "EBNe0gAAAAAAAAAAEBPHSEBAAAAlOZtCYA4fS8B0GFRCQAo0gISAOTgNwmC840EAAA",
      "AAAAAAAAAAAAAAAAAUJydJfjXPBIAAAAAAAAAAAAAAABk6WwJAAAAAAAAAAAAAAAAq",
      "G8UCQAAgPpOlAAAIA83SQAANWwc9HUjGAgAAAAAAACAusaSAAAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAqHKVBACQjxklAAAAAAAAAKBHxpQAAAAAACBME0lAdlaUAACyt7sEAAAA0",
      "Nl0EgAAAAAAAAAAAABA-8wgAQAAAAAAAKU4SgKgUtlBAgAAAAAAAAAAgMCMLwEE51k",
      "JICdzSgCJGl2CsE0tAQAA0L11JQAAAAAAAAjUOhIAAAAAAAAAAAAAAGTqeQkAAAAAA",
      "AAAAAAAKM8SEjTrJwkAAAAAAACocqQEULgVJAAAACjDUxJUKgtKAAAAqbpRAgCA0n0",
      "mAQAAAABAGzwmAUCTLpUAAAAAAAAAAEjZNRIAAAAAAAAAAAAAAAAAAAAA8I-vJaAlh",
      "pQAAAAAAHrvzjJ-OqCuuVlLAojP8BJAr70sQZVDJYAgXS0BAAAAAAAAAAAAtMnyEgA",
      "AAAAAFONKCQAAAAAAAADorc0kAAAAAAAAgDqOlgAAAAAAAAAAAADIwv0SAAAAAAAAA",
      "AAAAADBuV0CIFVDSwAAAABAAI6RAAAAAGIwrQSEZAsJAABouRclAAAAAKDDrxIAAAA",
      "0bkkJgFiMKwEAAAAAAHQyhwRk7h4JAAAAAAAAAAAgatdKAACUYj0JAAAAAAAAAAAAQ",
      "nORBLTFJRIAAAAAkIaDJAAAAJryngQAAAAAAAAAAAA98oQEAAAAAAAAAEC2zpcgWY9",
      "LQKL2kwAgGK9IAAAAAPHaRQIAAAAAAAAAAADIxyoSAAAAAAAAAAAAAADQFotLAECz_",
      "gQ1PX-B",
    ),
  },
];

for (const { bits, statuses, lst: draftLst, compressedBytes } of APPENDIX_C) {
  t.test(`Appendix C, ${bits}-bit: the draft's lst holds exactly the listed statuses, and ours decodes to the same bytes`, async (t) => {
    const expected = statuses.filter(([, status]) => status !== 0).sort(([a], [b]) => a - b);
    t.equal(new Set(statuses.map(([index]) => index)).size, statuses.length, "the draft lists each index once");

    t.equal(Buffer.from(draftLst, "base64url").length, compressedBytes, "the copied lst has the length of the draft's CBOR byte string");
    const theirs = StatusList.decode(draftLst, bits);
    t.equal(theirs.size, SIZE, "2^20 entries");
    t.same(nonZero(theirs), expected, `the ${expected.length} listed non-zero statuses and 0 at every other index`);

    const ours = new StatusList(SIZE, bits);
    for (const [index, status] of statuses) ours.set(index, status);
    t.equal(hex(ours.toBytes()), hex(theirs.toBytes()), "our byte array is the draft's");
    // Not compared: our lst with the draft's. Node bundles Chromium's zlib (1.3.1-e00f703 on Node
    // 20.20), whose level-9 DEFLATE may choose other matches than the zlib the draft's generator
    // used: here the 2- and 4-bit streams are the draft's character for character, while the 1-bit
    // (same length) and 8-bit ones differ. Both inflate to the same bytes, which is what §4.1 fixes.
    t.equal(hex(StatusList.decode(ours.encode(), bits).toBytes()), hex(theirs.toBytes()), "our lst decodes to the draft's byte array");
  });
}

t.test("an entry's bits are replaced, never OR-ed in, and its neighbours keep theirs", async (t) => {
  for (const bits of [1, 2, 4, 8] as const) {
    const max = 2 ** bits - 1;
    const list = new StatusList(24, bits);
    for (let i = 0; i < 24; i++) list.set(i, max);
    list.set(9, 0);
    t.same(nonZero(list).map(([i]) => i), [...Array(24).keys()].filter((i) => i !== 9), `${bits}-bit: only entry 9 cleared`);
    list.set(9, STATUS_INVALID);
    list.set(9, max);
    list.set(9, STATUS_INVALID);
    t.equal(list.get(9), STATUS_INVALID, `${bits}-bit: the last status set wins`);
    t.equal(list.get(8), max);
    t.equal(list.get(10), max);
  }
});

t.test("an empty list encodes, decodes, and has no entry", async (t) => {
  const empty = new StatusList(0, 1);
  t.equal(empty.size, 0);
  t.equal(empty.toBytes().length, 0);
  t.equal(empty.encode(), "eNoDAAAAAAE", "the ZLIB stream of zero bytes");
  const decoded = StatusList.decode(empty.encode(), 1);
  t.equal(decoded.size, 0);
  t.throws(() => decoded.get(0), { name: "TypeError", message: "status list has no entries, got index 0" });
});

t.test("a list whose last byte is partly unused: the size bounds the index, not the byte", async (t) => {
  const list = new StatusList(12, 1);
  t.equal(list.toBytes().length, 2);
  t.equal(list.get(11), 0);
  t.throws(() => list.get(12), { name: "TypeError", message: "status list index must be an integer from 0 to 11, got 12" });
  t.throws(() => list.set(12, 1), { name: "TypeError", message: "status list index must be an integer from 0 to 11, got 12" });
  t.equal(StatusList.decode(list.encode(), 1).size, 16, "decoded, the size is every entry the bytes hold");
});

t.test("misuse is a TypeError: bad bits, size, index or status", async (t) => {
  for (const bits of [0, 3, 16, 1.5, Number.NaN]) {
    t.throws(() => new StatusList(8, bits as StatusListBits), { name: "TypeError", message: `status list bits must be 1, 2, 4 or 8, got ${bits}` });
    t.throws(() => StatusList.decode("eNrbuRgAAhcBXQ", bits as StatusListBits), { name: "TypeError", message: `status list bits must be 1, 2, 4 or 8, got ${bits}` });
  }
  for (const size of [-1, 1.5, Number.NaN, Infinity]) {
    t.throws(() => new StatusList(size, 1), { name: "TypeError", message: `status list size must be a non-negative integer, got ${size}` });
  }
  const list = new StatusList(16, 2);
  for (const index of [-1, 16, 1.5, Number.NaN]) {
    const message = `status list index must be an integer from 0 to 15, got ${index}`;
    t.throws(() => list.get(index), { name: "TypeError", message });
    t.throws(() => list.set(index, 1), { name: "TypeError", message });
  }
  for (const status of [-1, 4, 1.5, Number.NaN]) {
    t.throws(() => list.set(0, status), { name: "TypeError", message: `status must be an integer from 0 to 3 for 2-bit entries, got ${status}` });
  }
  t.throws(() => new StatusList(8, 1).set(0, 2), { name: "TypeError", message: "status must be an integer from 0 to 1 for 1-bit entries, got 2" });
  t.throws(() => new StatusList(8, 8).set(0, 256), { name: "TypeError", message: "status must be an integer from 0 to 255 for 8-bit entries, got 256" });
  t.same(nonZero(list), [], "refused calls changed nothing");
  t.throws(() => StatusList.fromBytes([0xb9, 0xa3] as unknown as Uint8Array, 1), { name: "TypeError", message: "status list bytes must be a Uint8Array" });
  t.throws(() => StatusList.fromBytes(Uint8Array.of(0xb9), 3 as StatusListBits), { name: "TypeError", message: "status list bits must be 1, 2, 4 or 8, got 3" });
  t.throws(() => StatusList.decode("not a list", 3 as StatusListBits), { name: "TypeError", message: "status list bits must be 1, 2, 4 or 8, got 3" }, "bits are checked before the lst");
});

t.test("toBytes and fromBytes copy: the list cannot be changed from outside", async (t) => {
  const source = Uint8Array.of(0xb9, 0xa3);
  const list = StatusList.fromBytes(source, 1);
  source[0] = 0;
  t.equal(hex(list.toBytes()), "b9a3");
  list.toBytes()[0] = 0;
  t.equal(hex(list.toBytes()), "b9a3");
  t.equal(list.encode(), "eNrbuRgAAhcBXQ");
});

t.test("decode refuses what is not base64url of a bounded ZLIB stream", async (t) => {
  const notBase64url = { name: "TypeError", message: "status list lst must be base64url without padding" };
  t.throws(() => StatusList.decode("eNrbuRgAAhcBXQ==", 1), notBase64url, "padding");
  t.throws(() => StatusList.decode("eNrb+RgAAhcBXQ", 1), notBase64url, "base64 '+', not base64url");
  t.throws(() => StatusList.decode("eNrbuRgAAhcBXQ\n", 1), notBase64url, "a line break");
  t.throws(() => StatusList.decode("eNrbu", 1), notBase64url, "a length no base64 string has");
  const notZlib = { name: "TypeError", message: "status list lst is not a ZLIB stream within the size limit" };
  t.throws(() => StatusList.decode("", 1), notZlib, "empty");
  t.throws(() => StatusList.decode("eNrbuRgAAhcB", 1), notZlib, "truncated");
  t.throws(() => StatusList.decode("eNrbuRgAAhcBXA", 1), notZlib, "wrong Adler-32 checksum");
  t.throws(() => StatusList.decode(Buffer.from([0xb9, 0xa3]).toString("base64url"), 1), notZlib, "the raw bytes, uncompressed");

  const atLimit = deflateSync(Buffer.alloc(MAX_DECODED_BYTES)).toString("base64url");
  t.equal(StatusList.decode(atLimit, 8).size, MAX_DECODED_BYTES, "16 MiB inflate");
  const overLimit = deflateSync(Buffer.alloc(MAX_DECODED_BYTES + 1)).toString("base64url");
  t.ok(overLimit.length < 32 * 1024, "a small lst …");
  t.throws(() => StatusList.decode(overLimit, 8), notZlib, "… that would inflate beyond 16 MiB is refused");
});

t.test("size: 2^20 one-bit entries with 1% revoked at random stay under 20 KiB of lst", async (t) => {
  // A fixed-seed generator (mulberry32), so that every run measures the same list.
  let seed = 0x7e55e4a;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
  const revoked = Math.round(SIZE / 100);
  const list = new StatusList(SIZE, 1);
  let set = 0;
  while (set < revoked) {
    const index = Math.floor(random() * SIZE);
    if (list.get(index) === 0) {
      list.set(index, STATUS_INVALID);
      set++;
    }
  }
  const encoded = list.encode();
  const compressedBytes = Buffer.from(encoded, "base64url").length;
  // The draft's Appendix B table gives 13.7 KB compressed for 1M entries at 1%; the entropy bound
  // is 2^20 × H(0.01) ≈ 10.6 KB. The lst is base64url, 4/3 of the compressed bytes.
  t.ok(compressedBytes < 15 * 1024, `compressed ${compressedBytes} bytes < 15 KiB`);
  t.ok(encoded.length < 20 * 1024, `lst ${encoded.length} characters < 20 KiB`);
  t.equal(nonZero(StatusList.decode(encoded, 1)).length, revoked, `the ${revoked} revocations survive the round trip`);
});
