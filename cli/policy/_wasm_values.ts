/**
 * Reads a value the OPA WASM runtime built, straight from the module's
 * memory, instead of having the module print it as JSON (`opa_json_dump`)
 * and parsing that text again in JavaScript: for a decision those two steps
 * cost about as much as evaluating the rules.
 *
 * The layout is the OPA runtime's (wasm/src/value.h, 32-bit pointers):
 *
 *   every value      u8 type at +0
 *   boolean (2, 9)   u8 v at +1
 *   number (3)       u8 repr at +1; INT (1): i64 at +8;
 *                    REF (2): the JSON literal, pointer at +8, length at +12
 *   string (4, 8)    length at +4, pointer to UTF-8 at +8
 *   array (5)        elems at +4 ({index, value} pointer pairs), length at +8
 *   object (6)       buckets at +4, bucket count at +8; each bucket a chain
 *                    of {key, value, next} elements
 *   set (7)          buckets at +4, bucket count at +8, length at +12; each
 *                    bucket a chain of {value, next} elements
 *
 * Anything else (an unknown type or number representation, a key that is
 * not a string or is "__proto__", a set inside the result, a number
 * literal that is not JSON)
 * throws UnsupportedValue, and the caller reads that result through the
 * module's own JSON instead. The caller also checks, when it loads a
 * module, that both ways give the same values, so a runtime with another
 * layout is only ever read through its JSON.
 */

export class UnsupportedValue extends Error {
  constructor(what: string) {
    super(`cannot read this OPA value directly: ${what}`);
  }
}

/** Value types (OPA_NULL ... OPA_BOOLEAN_INTERNED). */
const Type = {
  null: 1,
  boolean: 2,
  number: 3,
  string: 4,
  array: 5,
  object: 6,
  set: 7,
  internedString: 8,
  internedBoolean: 9,
} as const;

const REPR_INT = 1;
const REPR_REF = 2;
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const decoder = new TextDecoder();

/** Reads values out of one module's memory; re-create it when the memory grows. */
export class ValueReader {
  /** The memory this reader sees; a grown memory has a new buffer. */
  readonly buffer: ArrayBuffer;
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  /** Interned strings below `#staticEnd` (the module's data, never freed): decoded once. */
  readonly #interned: Map<number, string>;
  readonly #staticEnd: number;

  /**
   * `staticEnd` is where the heap began when the module was loaded: below
   * it lie only the module's own data, whose strings never change.
   */
  constructor(buffer: ArrayBuffer, interned: Map<number, string>, staticEnd: number) {
    this.buffer = buffer;
    this.#view = new DataView(buffer);
    this.#bytes = new Uint8Array(buffer);
    this.#interned = interned;
    this.#staticEnd = staticEnd;
  }

  /**
   * The `result` of the single result in the result set at `addr`, or
   * undefined when the set is empty (the rule is undefined for the input).
   */
  resultOf(addr: number): unknown {
    if (this.#bytes[addr] !== Type.set) throw new UnsupportedValue("the result set is not a set");
    const size = this.#u32(addr + 12);
    if (size === 0) return undefined;
    if (size !== 1) throw new UnsupportedValue(`${size} results`);
    const buckets = this.#u32(addr + 4);
    const n = this.#u32(addr + 8);
    for (let b = 0; b < n; b++) {
      const elem = this.#u32(buckets + b * 4);
      if (elem === 0) continue;
      const result = this.read(this.#u32(elem));
      if (result === null || typeof result !== "object" || Array.isArray(result)) {
        throw new UnsupportedValue("the result is not an object");
      }
      return (result as { result?: unknown }).result;
    }
    throw new UnsupportedValue("the result set has no element");
  }

  /** The JSON value of the OPA value at `addr`. */
  read(addr: number): unknown {
    switch (this.#bytes[addr]) {
      case Type.null:
        return null;
      case Type.boolean:
      case Type.internedBoolean:
        return this.#bytes[addr + 1] !== 0;
      case Type.number:
        return this.#number(addr);
      case Type.string:
        return this.#string(addr);
      case Type.internedString: {
        if (addr >= this.#staticEnd) return this.#string(addr);
        const known = this.#interned.get(addr);
        if (known !== undefined) return known;
        const text = this.#string(addr);
        this.#interned.set(addr, text);
        return text;
      }
      case Type.array: {
        const elems = this.#u32(addr + 4);
        const length = this.#u32(addr + 8);
        const out = new Array<unknown>(length);
        for (let i = 0; i < length; i++) out[i] = this.read(this.#u32(elems + i * 8 + 4));
        return out;
      }
      case Type.object: {
        const out: Record<string, unknown> = {};
        const buckets = this.#u32(addr + 4);
        const n = this.#u32(addr + 8);
        for (let b = 0; b < n; b++) {
          for (let elem = this.#u32(buckets + b * 4); elem !== 0; elem = this.#u32(elem + 8)) {
            const key = this.#u32(elem);
            const type = this.#bytes[key];
            if (type !== Type.string && type !== Type.internedString) {
              throw new UnsupportedValue(`an object key of type ${type}`);
            }
            const name = this.read(key) as string;
            // JSON.parse makes "__proto__" an own key; assigning it would not.
            if (name === "__proto__") throw new UnsupportedValue("the key __proto__");
            out[name] = this.read(this.#u32(elem + 4));
          }
        }
        return out;
      }
      default:
        throw new UnsupportedValue(`a value of type ${this.#bytes[addr]}`);
    }
  }

  #u32(addr: number): number {
    return this.#view.getUint32(addr, true);
  }

  #number(addr: number): number {
    const repr = this.#bytes[addr + 1];
    if (repr === REPR_INT) {
      // Rounded once, as JSON.parse rounds the printed integer.
      return this.#view.getInt32(addr + 12, true) * 4294967296 + this.#u32(addr + 8);
    }
    if (repr === REPR_REF) {
      const literal = this.#text(this.#u32(addr + 8), this.#u32(addr + 12));
      if (!JSON_NUMBER.test(literal)) throw new UnsupportedValue(`the number ${literal}`);
      return Number(literal);
    }
    throw new UnsupportedValue(`a number in representation ${repr}`);
  }

  #string(addr: number): string {
    return this.#text(this.#u32(addr + 8), this.#u32(addr + 4));
  }

  /** UTF-8 text; short ASCII (nearly every key and value) without a decoder call. */
  #text(at: number, length: number): string {
    if (length <= 32) {
      let text = "";
      for (let i = 0; i < length; i++) {
        const c = this.#bytes[at + i]!;
        if (c >= 0x80) return decoder.decode(this.#bytes.subarray(at, at + length));
        text += String.fromCharCode(c);
      }
      return text;
    }
    return decoder.decode(this.#bytes.subarray(at, at + length));
  }
}
