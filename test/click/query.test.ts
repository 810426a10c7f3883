import { describe, expect, test } from "bun:test";
import { decodeFormComponent, firstPresent, firstValue, parseQuery } from "../../src/click/query";

describe("decodeFormComponent", () => {
  const table: Array<[string, string]> = [
    ["plain", "plain"],
    ["a+b", "a b"],
    ["a%20b", "a b"],
    ["a%2Bb", "a+b"],
    ["%C3%BC", "ü"],
    ["%zz", "%zz"],
    ["%C3", "%C3"],
    ["ok%20%C3", "ok %C3"],
    ["%", "%"],
    ["%F0%9F%98%80", "😀"],
    ["%C3%BC%C3%zz%E6%97", "ü%C3%zz%E6%97"],
    ["%ED%A0%80", "%ED%A0%80"],
  ];
  for (const [raw, decoded] of table) {
    test(`${raw} → ${JSON.stringify(decoded)}`, () => expect(decodeFormComponent(raw)).toBe(decoded));
  }
});

describe("parseQuery", () => {
  test("last value of a repeated key wins; a key without = is empty", () => {
    const query = parseQuery("a=1&b=2&a=3&flag&&c=x+y");
    expect([...query]).toEqual([
      ["a", "3"],
      ["b", "2"],
      ["flag", ""],
      ["c", "x y"],
    ]);
  });

  test("an empty query has no parameters", () => expect(parseQuery("").size).toBe(0));

  test("firstPresent skips blank values", () => {
    const query = parseQuery("adid=&idfa=%20&gadid=G");
    expect(firstPresent(query, ["adid", "idfa", "gadid"])).toBe("G");
    expect(firstPresent(query, ["adid", "idfa"])).toBeUndefined();
  });
});

describe("firstValue", () => {
  const table: Array<[string, string, string | undefined]> = [
    ["a=1&a=2", "a", "1"],
    ["b=1&a=x+y%26z&a=2", "a", "x y&z"],
    ["&&a=&a=2", "a", ""],
    ["x=1&a", "a", ""],
    ["%61=encoded&a=plain", "a", "encoded"],
    ["a+b=1&a%20b=2", "a b", "1"],
    ["caf%C3%A9=yes", "café", "yes"],
    ["aa=1&ab=2", "a", undefined],
    ["", "a", undefined],
    ["a=%ZZ%C3%BC", "a", "%ZZü"],
  ];
  for (const [raw, name, value] of table) {
    test(`${JSON.stringify(name)} in ${JSON.stringify(raw)} is ${JSON.stringify(value)}`, () => {
      expect(firstValue(raw, name)).toBe(value as string);
    });
  }
});
