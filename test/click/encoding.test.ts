import { describe, expect, test } from "bun:test";
import { compareCodePoints, encodeComponent, encodePair, encodeQuery } from "../../src/click/encoding";

describe("encodeComponent (Addressable's unreserved set)", () => {
  const table: Array<[string, string]> = [
    ["", ""],
    ["AZaz09-_.~", "AZaz09-_.~"],
    ["a b", "a%20b"],
    ["a+b", "a%2Bb"],
    ["a&b=c", "a%26b%3Dc"],
    ["http://x.y/p?q=1#f", "http%3A%2F%2Fx.y%2Fp%3Fq%3D1%23f"],
    ["!'()*", "%21%27%28%29%2A"],
    ["über", "%C3%BCber"],
    ["日本", "%E6%97%A5%E6%9C%AC"],
    ["😀", "%F0%9F%98%80"],
    ["%", "%25"],
    ["a\u0000b\n", "a%00b%0A"],
    ["\ud800", "%EF%BF%BD"],
  ];
  for (const [input, expected] of table) {
    test(`${JSON.stringify(input)} → ${expected}`, () => expect(encodeComponent(input)).toBe(expected));
  }
});

describe("encodePair", () => {
  test("a missing value is a bare key, an empty one is key=", () => {
    expect(encodePair("click", undefined)).toBe("click");
    expect(encodePair("click", null)).toBe("click");
    expect(encodePair("click", "")).toBe("click=");
    expect(encodePair("click", "a b")).toBe("click=a%20b");
  });
});

describe("encodeQuery", () => {
  test("sorts keys by code point, as Ruby sorts UTF-8 strings", () => {
    expect(
      encodeQuery([
        ["b", "2"],
        ["a", "1 1"],
        ["\uffff", "x"],
        ["😀", "y"],
        ["B", "3"],
      ]),
    ).toBe("B=3&a=1%201&b=2&%EF%BF%BF=x&%F0%9F%98%80=y");
  });

  test("compareCodePoints puts astral characters after the last BMP ones", () => {
    expect(compareCodePoints("😀", "\uffff")).toBeGreaterThan(0);
    expect(compareCodePoints("a", "ab")).toBeLessThan(0);
    expect(compareCodePoints("ab", "ab")).toBe(0);
  });
});
