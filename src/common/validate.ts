/**
 * Checking untrusted messages (from the webview, the host, the engine worker, a saved state):
 * small predicates, and a parser driven by a table with one validator per message type. The
 * table's type lists every type of the union, so that a new message type without a validator
 * does not compile.
 */

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;
export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isStr = (v: unknown): v is string => typeof v === 'string';
export const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
export const isStrOrNull = (v: unknown): v is string | null => v === null || isStr(v);
export const isIntOrNull = (v: unknown): v is number | null => v === null || isInt(v);
export const isIntList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => isInt(x));

export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

/**
 * One validator per message type. A validator may normalise the (freshly received, structured-
 * cloned) object in place before it answers, e.g. an ArrayBuffer into the Uint8Array the type says.
 */
export type Validators<M extends { type: string }> = { [K in M['type']]: (v: Obj) => boolean };

export function parseWith<M extends { type: string }>(validators: Validators<M>, v: unknown): Parsed<M> {
  if (!isObj(v))
    return { ok: false, error: `a message must be an object, got ${Array.isArray(v) ? 'an array' : typeof v}` };
  const type = v.type;
  if (!isStr(type) || !Object.prototype.hasOwnProperty.call(validators, type)) {
    return { ok: false, error: `unknown message type "${String(type)}"` };
  }
  const valid = validators[type as M['type']](v);
  return valid ? { ok: true, message: v as unknown as M } : { ok: false, error: `malformed "${type}" message` };
}

/** For the `default:` of an exhaustive switch: a case left out is a compile error. */
export function unreachable(v: never, what: string): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(v)}`);
}
