/**
 * One line of history.jsonl: its exact text, its hash, and its schema check.
 * Pure.
 *
 * Two line versions are read: `v: 1` (keys `v, ts, event, actor, data,
 * prev`; written before sealing, "unsealed") and `v: 2`, which adds `key`
 * (the sealing key's id) and `mac` (HMAC-SHA256 of the line without its
 * `mac`; see `_seal.ts`). Only `v: 2` lines are written now.
 */

import { type Actor, type EventName, type HistoryEvent, isEventName } from "./_events.ts";
import { KEY_ID, sealBody, type SealKey, splitSeal } from "./_mac.ts";

/** `prev` of the first line. */
export const ZERO_HASH = "0".repeat(64);

export interface LineFields {
  ts: string;
  event: EventName;
  actor: Actor;
  data: unknown;
  prev: string;
}

/**
 * The exact line text (no newline): keys `v, ts, event, actor, data, prev`
 * in that order, actor keys `user, host, pid`, no spaces.
 */
export function formatLine(fields: LineFields): string {
  return JSON.stringify({
    v: 1,
    ts: fields.ts,
    event: fields.event,
    actor: { user: fields.actor.user, host: fields.actor.host, pid: fields.actor.pid },
    data: fields.data,
    prev: fields.prev,
  });
}

/**
 * The sealed line text (no newline), `v: 2`: the keys of `formatLine`, then
 * `key` (the key's id) and `mac` (HMAC-SHA256 hex of the text before it,
 * closed with `}`).
 */
export function formatSealedLine(fields: LineFields, key: SealKey): string {
  const body = JSON.stringify({
    v: 2,
    ts: fields.ts,
    event: fields.event,
    actor: { user: fields.actor.user, host: fields.actor.host, pid: fields.actor.pid },
    data: fields.data,
    prev: fields.prev,
    key: key.id,
  });
  return sealBody(body, key);
}

const KEYS = ["v", "ts", "event", "actor", "data", "prev"];
const SEALED_KEYS = [...KEYS, "key", "mac"];
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** A sealed line's seal: the key id, the MAC and the exact text the MAC covers. */
export interface LineSeal {
  key: string;
  mac: string;
  body: string;
}

export type ParsedLine =
  | { ok: true; event: HistoryEvent; seal?: LineSeal }
  | { ok: false; problem: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses and checks one line against the schema (data only as an object). */
export function parseLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { ok: false, problem: `not valid JSON (${(error as Error).message})` };
  }
  if (!isPlainObject(value)) return { ok: false, problem: "not a JSON object" };
  const { v, ts, event, actor, data, prev } = value;
  if (v !== 1 && v !== 2) return { ok: false, problem: `unsupported version ${JSON.stringify(v)}` };
  const expected = v === 1 ? KEYS : SEALED_KEYS;
  const keys = Object.keys(value);
  if (keys.length !== expected.length || keys.some((k, i) => k !== expected[i])) {
    return {
      ok: false,
      problem: `keys must be ${expected.join(", ")} in that order, got ${keys.join(", ")}`,
    };
  }
  if (typeof ts !== "string" || !TS.test(ts) || Number.isNaN(Date.parse(ts))) {
    return { ok: false, problem: `invalid timestamp ${JSON.stringify(ts)}` };
  }
  if (!isEventName(event)) return { ok: false, problem: `unknown event ${JSON.stringify(event)}` };
  if (
    !isPlainObject(actor) || typeof actor["user"] !== "string" ||
    typeof actor["host"] !== "string" ||
    typeof actor["pid"] !== "number"
  ) {
    return { ok: false, problem: "actor must be {user, host, pid}" };
  }
  if (!isPlainObject(data)) return { ok: false, problem: "data must be an object" };
  if (typeof prev !== "string" || !HEX64.test(prev)) {
    return { ok: false, problem: "prev must be 64 lowercase hex digits" };
  }
  let seal: LineSeal | undefined;
  if (v === 2) {
    const key = value["key"];
    if (typeof key !== "string" || !KEY_ID.test(key)) {
      return { ok: false, problem: "key must be 32 lowercase hex digits" };
    }
    const split = splitSeal(line);
    if (!split || split.mac !== value["mac"]) {
      return {
        ok: false,
        problem: "mac must be 64 lowercase hex digits, the last key, as written",
      };
    }
    seal = { key, mac: split.mac, body: split.body };
  }
  const parsed: HistoryEvent = {
    v,
    ts,
    event,
    actor: { user: actor["user"], host: actor["host"], pid: actor["pid"] },
    data,
    prev,
  };
  return seal ? { ok: true, event: parsed, seal } : { ok: true, event: parsed };
}
