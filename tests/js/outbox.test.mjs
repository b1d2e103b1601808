// The review page's outbox (static/review/outbox.js): stored before it is sent, the same key
// until the server answers, refused and lost submits kept with their text, undo and amends.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Outbox, labelFor } from "../../static/review/outbox.js";

class Storage {
  constructor() {
    this.items = new Map();
  }
  getItem(name) {
    return this.items.has(name) ? this.items.get(name) : null;
  }
  setItem(name, value) {
    this.items.set(name, String(value));
  }
}

/** A world with a fake clock and timers and a server whose answers the test queues. */
function world({ storage = new Storage() } = {}) {
  const w = { storage, clock: 0, timers: [], sent: [], answers: [], waiting: [] };
  w.timersApi = {
    setTimeout: (fn, ms) => {
      const timer = { fn, at: w.clock + ms };
      if (ms === 0) {
        // "in the next task": run on the real event loop, before the test's settle() returns
        setImmediate(() => timer.cancelled || fn());
        return timer;
      }
      w.timers.push(timer);
      return timer;
    },
    clearTimeout: (timer) => {
      timer.cancelled = true;
      w.timers = w.timers.filter((t) => t !== timer);
    },
  };
  w.make = () =>
    new Outbox({
      storage: w.storage,
      name: "outbox.7",
      send: (taskId, body) => {
        w.sent.push({ taskId, body: structuredClone(body) });
        const answer = w.answers.shift();
        if (answer === "hold") return new Promise((resolve) => w.waiting.push(resolve));
        return Promise.resolve(answer || { status: 201, data: { annotation_id: 100 + w.sent.length, created: true } });
      },
      now: () => w.clock,
      timers: w.timersApi,
      backoff: (attempt) => 1000 * 2 ** attempt,
    });
  w.advance = async (ms) => {
    w.clock += ms;
    for (const timer of w.timers.filter((t) => t.at <= w.clock)) {
      w.timers = w.timers.filter((t) => t !== timer);
      timer.fn();
    }
    await settle();
  };
  return w;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const BODY = { corrected_text: "play shake it off", answer_grade: "right", accidental: false };

test("a submission is stored before it is sent, and saved once the server answers", async () => {
  const w = world();
  w.answers.push("hold");
  const box = w.make();
  box.add({ key: "k1", taskId: 7, body: BODY });
  assert.equal(JSON.parse(w.storage.getItem("outbox.7"))[0].state, "saving"); // stored at once…
  assert.equal(w.sent.length, 0);
  await settle(); // …sent in the next task
  assert.deepEqual(w.sent.map((s) => s.body.idempotency_key), ["k1"]);
  assert.deepEqual([...box.waitingTasks], [7]);
  w.waiting[0]({ status: 201, data: { annotation_id: 55, created: true, wer: 0.25 } });
  await settle();
  const entry = box.get("k1");
  assert.equal(entry.state, "saved");
  assert.equal(entry.annotationId, 55);
  assert.equal(entry.wer, 0.25);
  assert.equal(JSON.parse(w.storage.getItem("outbox.7"))[0].state, "saved");
});

test("no answer or a server error is retried with the same key and backoff, the text kept", async () => {
  const w = world();
  w.answers.push({ status: 503, data: {} }, { status: 0, data: { error: "no connection" } });
  const box = w.make();
  box.add({ key: "k1", taskId: 7, body: BODY });
  await settle();
  assert.equal(box.get("k1").state, "retrying");
  assert.equal(box.get("k1").body.corrected_text, "play shake it off");
  await w.advance(999);
  assert.equal(w.sent.length, 1);
  await w.advance(1);
  assert.equal(w.sent.length, 2);
  assert.equal(box.get("k1").error, "no connection");
  await w.advance(2000);
  assert.deepEqual(w.sent.map((s) => s.body.idempotency_key), ["k1", "k1", "k1"]);
  assert.equal(box.get("k1").state, "saved");
});

test("a page that loads with unsent submissions sends them", async () => {
  const w = world();
  w.answers.push("hold");
  w.make().add({ key: "k1", taskId: 7, body: BODY }); // the page is closed while it is on its way
  await settle();
  const again = w.make();
  assert.equal(again.get("k1").state, "saving");
  again.pump();
  await settle();
  assert.equal(w.sent.length, 2);
  assert.equal(again.get("k1").state, "saved");
});

test("a refused submit (400) is not saved and keeps its text; a 409 says why", async () => {
  const w = world();
  w.answers.push({ status: 400, data: { error: "corrected_text must be a string" } });
  w.answers.push({ status: 409, data: { reason: "lapsed", error: "its lease ran out" } });
  const box = w.make();
  box.add({ key: "k1", taskId: 7, body: BODY });
  box.add({ key: "k2", taskId: 8, body: { ...BODY, corrected_text: "turn it up" } });
  await settle();
  assert.equal(box.get("k1").state, "failed");
  assert.equal(box.get("k1").body.corrected_text, "play shake it off");
  assert.equal(box.get("k2").state, "gone");
  assert.equal(box.get("k2").reason, "lapsed");
  await w.advance(60_000);
  assert.equal(w.sent.length, 2); // neither is tried again
});

test("undo of a submit that got no answer: the new version probes with the old key, then amends", async () => {
  const w = world();
  w.answers.push({ status: 0, data: {} });
  const box = w.make();
  box.add({ key: "k1", taskId: 7, body: BODY });
  await settle();
  // Tried once, no answer: it may have been stored.
  assert.equal(box.pull("k1").sent, "unknown");
  assert.equal(box.get("k1").state, "unknown");
  assert.deepEqual([...box.waitingTasks], []);
  // The new version is sent under the old key first; the server had stored the old one: then amended.
  w.answers.push({ status: 200, data: { annotation_id: 41, created: false } });
  w.answers.push({ status: 201, data: { annotation_id: 42, created: true } });
  box.add({ key: "k2", taskId: 7, body: { ...BODY, corrected_text: "play Shake It Off" }, amendOf: "k1" });
  await settle();
  await settle();
  assert.deepEqual(
    w.sent.slice(1).map((s) => [s.body.idempotency_key, s.body.amends, s.body.corrected_text]),
    [
      ["k1", undefined, "play Shake It Off"],
      ["k2", 41, "play Shake It Off"],
    ],
  );
  assert.equal(box.get("k2").state, "saved");
  assert.equal(box.get("k1").state, "saved"); // the first version was stored after all
  assert.equal(box.get("k1").annotationId, 41);
});

test("a new version of a saved submit is sent with amends and a new key", async () => {
  const w = world();
  w.answers.push({ status: 201, data: { annotation_id: 41, created: true } });
  const box = w.make();
  box.add({ key: "k1", taskId: 7, body: BODY });
  await settle();
  assert.equal(box.pull("k1").sent, "saved");
  w.answers.push({ status: 201, data: { annotation_id: 42, created: true } });
  box.add({ key: "k2", taskId: 7, body: { ...BODY, corrected_text: "again" }, amendOf: "k1" });
  await settle();
  assert.deepEqual([w.sent[1].body.idempotency_key, w.sent[1].body.amends], ["k2", 41]);
  assert.equal(box.get("k2").annotationId, 42);
});

test("a new version waits for the answer to a first version still on its way", async () => {
  const w = world();
  w.answers.push("hold");
  const box = w.make();
  box.add({ key: "k1", taskId: 7, body: BODY });
  await settle();
  assert.equal(box.pull("k1").sent, "unknown");
  box.add({ key: "k2", taskId: 7, body: { ...BODY, corrected_text: "again" }, amendOf: "k1" });
  await settle();
  assert.equal(w.sent.length, 1); // held back
  // Undone again before it was ever sent: taken out, nothing reaches the server.
  assert.equal(box.pull("k2").sent, "never");
  box.add({ key: "k3", taskId: 7, body: { ...BODY, corrected_text: "again" }, amendOf: "k1" });
  w.waiting[0]({ status: 201, data: { annotation_id: 41, created: true } });
  await settle();
  await settle();
  assert.deepEqual([w.sent[1].body.idempotency_key, w.sent[1].body.amends], ["k3", 41]);
  assert.equal(w.sent.length, 2);
});

test("labels are the first words, or what the clip was marked", () => {
  assert.equal(labelFor({ corrected_text: "  play   jazz " }), "play jazz");
  assert.equal(labelFor({ corrected_text: "a".repeat(40) }).length, 28);
  assert.equal(labelFor({ accidental: true }), "accidental recording");
  assert.equal(labelFor({ corrected_text: "", no_speech: true }), "no speech");
});
