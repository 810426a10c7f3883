import { describe, expect, test } from "bun:test";
import { PushBatcher } from "../../src/clickstore/batch";

/** A send function that records each call and lets the test decide when and how it ends. */
function recordingSend() {
  const calls: Array<{ events: string[]; resolve(): void; reject(error: Error): void }> = [];
  const send = (events: string[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ events: [...events], resolve, reject });
    });
  return { calls, send };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("PushBatcher", () => {
  test("the pushes of one event-loop turn go out as one send, in order", async () => {
    const { calls, send } = recordingSend();
    const batcher = new PushBatcher(send);
    const pushes = ["a", "b", "c"].map((event) => batcher.push(event));
    expect(calls).toHaveLength(0);
    await turn();
    expect(calls.map((call) => call.events)).toEqual([["a", "b", "c"]]);
    calls[0]?.resolve();
    await Promise.all(pushes);
  });

  test("a push resolves only once its send has resolved", async () => {
    const { calls, send } = recordingSend();
    const batcher = new PushBatcher(send);
    let stored = false;
    const push = batcher.push("a").then(() => {
      stored = true;
    });
    await turn();
    await turn();
    expect(stored).toBe(false);
    calls[0]?.resolve();
    await push;
    expect(stored).toBe(true);
  });

  test("a failed send rejects every push it carried, and only those", async () => {
    const { calls, send } = recordingSend();
    const batcher = new PushBatcher(send);
    const first = [batcher.push("a"), batcher.push("b")];
    await turn();
    const second = batcher.push("c");
    await turn();
    expect(calls.map((call) => call.events)).toEqual([["a", "b"], ["c"]]);
    calls[0]?.reject(new Error("timeout"));
    calls[1]?.resolve();
    for (const push of first) await expect(push).rejects.toThrow("timeout");
    await second;
  });

  test("a full batch goes out at once; the rest waits for the end of the turn", async () => {
    const { calls, send } = recordingSend();
    const batcher = new PushBatcher(send, 2);
    const pushes = ["a", "b", "c"].map((event) => batcher.push(event));
    expect(calls.map((call) => call.events)).toEqual([["a", "b"]]);
    await turn();
    expect(calls.map((call) => call.events)).toEqual([["a", "b"], ["c"]]);
    for (const call of calls) call.resolve();
    await Promise.all(pushes);
  });

  test("a send that throws rejects its pushes", async () => {
    const batcher = new PushBatcher(() => {
      throw new Error("connection is closed");
    });
    const push = batcher.push("a");
    await turn();
    await expect(push).rejects.toThrow("connection is closed");
  });

  test("flush sends the open batch now, and an empty flush sends nothing", async () => {
    const { calls, send } = recordingSend();
    const batcher = new PushBatcher(send);
    batcher.flush();
    const push = batcher.push("a");
    batcher.flush();
    expect(calls.map((call) => call.events)).toEqual([["a"]]);
    await turn();
    expect(calls).toHaveLength(1);
    calls[0]?.resolve();
    await push;
  });
});
