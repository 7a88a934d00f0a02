// RFC 8785 JSON Canonicalization Scheme (JCS). ECMAScript's own number and string serialization
// are what RFC 8785 specifies, so JSON.stringify does the primitives; this module adds key
// ordering and refuses every value that JSON.stringify would silently drop, change or mangle.

export class CanonicalizationError extends TypeError {
  override name = 'CanonicalizationError';
}

function fail(path: string, message: string): CanonicalizationError {
  return new CanonicalizationError(`${path}: ${message}`);
}

function quote(text: string, path: string): string {
  // Lone surrogates cannot be encoded as UTF-8; RFC 8785 (via I-JSON) forbids them.
  if (/\p{Surrogate}/u.test(text)) throw fail(path, 'string contains a lone surrogate');
  return JSON.stringify(text);
}

function keyPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function serialize(value: unknown, path: string, ancestors: Set<object>, key: string): string {
  if (value !== null && typeof value === 'object' && 'toJSON' in value) {
    const toJSON = value.toJSON;
    if (typeof toJSON === 'function') value = toJSON.call(value, key);
  }
  switch (typeof value) {
    case 'string':
      return quote(value, path);
    case 'number':
      if (!Number.isFinite(value)) throw fail(path, `${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw fail(path, 'BigInt is not a JSON value (convert it to a string or number first)');
    case 'undefined':
      throw fail(path, 'undefined is not a JSON value');
    case 'function':
    case 'symbol':
      throw fail(path, `a ${typeof value} is not a JSON value`);
  }
  if (value === null) return 'null';
  const object = value as object;
  if (ancestors.has(object)) throw fail(path, 'circular reference');
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      const items: string[] = [];
      for (let i = 0; i < object.length; i++) {
        items.push(serialize(object[i], `${path}[${i}]`, ancestors, String(i)));
      }
      return `[${items.join(',')}]`;
    }
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const kind = (object.constructor as { name?: string } | undefined)?.name ?? 'object';
      throw fail(path, `a ${kind} is not a plain JSON object`);
    }
    if (Object.getOwnPropertySymbols(object).length > 0)
      throw fail(path, 'symbol keys are not JSON');
    // Default string ordering compares UTF-16 code units, which is what RFC 8785 §3.2.3 requires.
    const keys = Object.keys(object).sort();
    const members = keys.map((k) => {
      const child = keyPath(path, k);
      const member = serialize((object as Record<string, unknown>)[k], child, ancestors, k);
      return `${quote(k, child)}:${member}`;
    });
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(object);
  }
}

/** The RFC 8785 canonical JSON text of a value. */
export function canonicalize(value: unknown): string {
  return serialize(value, '$', new Set(), '');
}

/** The UTF-8 bytes of the canonical JSON text. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}
