import { describe, expect, test } from "bun:test";
import { advertisingId, idfaComb, idfaCombWithoutZeroed, isZeroedId } from "../../src/click/identifiers";
import { parseQuery } from "../../src/click/query";

const UUID = "44566636-6BC5-48DE-B4AE-7DF9DF06B356";

describe("advertisingId", () => {
  const table: Array<[string, string | undefined]> = [
    [`adid=${UUID}`, UUID],
    [`idfa=${UUID.toLowerCase()}`, UUID],
    [`gadid=${UUID}`, UUID],
    [`gadid=${UUID.replaceAll("-", "").toLowerCase()}`, UUID],
    [`adid=&idfa=${UUID}`, UUID],
    [`adid=%20&gadid=${UUID}`, UUID],
    ["adid=first&idfa=second", "FIRST"],
    ["idfa=fubar", "FUBAR"],
    ["adid=", undefined],
    ["", undefined],
    ["adid=0123456789abcdef0123456789abcdeg", "0123456789ABCDEF0123456789ABCDEG"],
  ];
  for (const [query, expected] of table) {
    test(`${query || "(none)"} → ${expected}`, () => expect(advertisingId(parseQuery(query))).toBe(expected));
  }
});

describe("idfaComb", () => {
  const md5 = "EB2E4EBE9BF98F8C92EFC5F2CB468B18";
  const sha1 = "EB2E4EBE9BF98F8C92EFC5F2CB468B18EB2EEB2E";
  test("absent when nothing was sent", () => {
    expect(idfaComb(undefined, undefined, undefined)).toEqual({ kind: "absent" });
    expect(idfaComb(undefined, " ", "")).toEqual({ kind: "absent" });
  });
  test("a UUID adid wins, upper-cased", () => {
    expect(idfaComb(UUID.toLowerCase(), md5, sha1)).toEqual({ kind: "valid", value: UUID });
  });
  test("then an MD5, lower-cased", () => {
    expect(idfaComb("FUBAR", md5, sha1)).toEqual({ kind: "valid", value: md5.toLowerCase() });
  });
  test("then a SHA-1, lower-cased", () => {
    expect(idfaComb(undefined, "short", sha1)).toEqual({ kind: "valid", value: sha1.toLowerCase() });
  });
  test("invalid when something was sent but nothing usable", () => {
    expect(idfaComb("FUBAR", undefined, undefined)).toEqual({ kind: "invalid" });
  });
});

const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
const ZERO_MD5 = "0".repeat(32);
const ZERO_SHA1 = "0".repeat(40);

describe("isZeroedId", () => {
  const table: Array<[string, boolean]> = [
    [ZERO_UUID, true],
    [ZERO_MD5, true],
    [ZERO_SHA1, true],
    [UUID, false],
    ["00000000-0000-0000-0000-000000000001", false],
    ["0000000O-0000-0000-0000-000000000000", false],
    [` ${ZERO_UUID}`, false],
    ["", false],
  ];
  for (const [value, zeroed] of table) {
    test(`${JSON.stringify(value)} → ${zeroed}`, () => expect(isZeroedId(value)).toBe(zeroed));
  }
});

describe("idfaCombWithoutZeroed", () => {
  const md5 = "EB2E4EBE9BF98F8C92EFC5F2CB468B18";
  const sha1 = "EB2E4EBE9BF98F8C92EFC5F2CB468B18EB2EEB2E";
  test("an all-zero id alone is no id: absent, not invalid", () => {
    expect(idfaCombWithoutZeroed(ZERO_UUID, undefined, undefined)).toEqual({ kind: "absent" });
    expect(idfaCombWithoutZeroed(undefined, ZERO_MD5, undefined)).toEqual({ kind: "absent" });
    expect(idfaCombWithoutZeroed(undefined, undefined, ZERO_SHA1)).toEqual({ kind: "absent" });
    expect(idfaCombWithoutZeroed(ZERO_UUID, ZERO_MD5, ZERO_SHA1)).toEqual({ kind: "absent" });
  });
  test("the next id sent is the device id", () => {
    expect(idfaCombWithoutZeroed(ZERO_UUID, md5, sha1)).toEqual({ kind: "valid", value: md5.toLowerCase() });
    expect(idfaCombWithoutZeroed(ZERO_UUID, ZERO_MD5, sha1)).toEqual({
      kind: "valid",
      value: sha1.toLowerCase(),
    });
  });
  test("a real id is kept, whatever zeros come after it", () => {
    expect(idfaCombWithoutZeroed(UUID, ZERO_MD5, ZERO_SHA1)).toEqual({ kind: "valid", value: UUID });
  });
  test("something unusable besides the zeros is still invalid", () => {
    expect(idfaCombWithoutZeroed(ZERO_UUID, "short", undefined)).toEqual({ kind: "invalid" });
  });
});
