// The product tables the seed fills, in COPY column order, and the text-format encoding.

export const SEED_TABLES = {
  // The email columns come last: the coordinating thread appends them once the email is unique.
  users: [
    'id',
    'display_name_enc',
    'phone_enc',
    'country',
    'plan',
    'locale',
    'status',
    'created_at',
    'last_active_at',
    'email_enc',
    'email_index',
    'email_index_key_id',
    'email_masked',
  ],
  user_keys: ['user_id', 'key_version', 'master_key_id', 'wrapped_key', 'created_at'],
  conversations: ['id', 'user_id', 'title_enc', 'model', 'created_at', 'updated_at'],
  messages: [
    'id',
    'user_id',
    'conversation_id',
    'role',
    'content_enc',
    'token_count',
    'created_at',
  ],
  usage_events: ['id', 'user_id', 'kind', 'model', 'tokens', 'country', 'occurred_at'],
  data_use_preferences: ['user_id', 'purpose', 'allowed', 'updated_at'],
  data_use_preference_changes: ['id', 'user_id', 'purpose', 'allowed', 'source', 'changed_at'],
  payment_references: [
    'id',
    'user_id',
    'provider',
    'customer_token',
    'card_brand',
    'last4',
    'exp_month',
    'exp_year',
    'created_at',
  ],
} as const;

export type SeedTable = keyof typeof SEED_TABLES;
export const SEED_TABLE_NAMES = Object.keys(SEED_TABLES) as SeedTable[];

export function copyStatement(table: SeedTable): string {
  return `copy product.${table} (${SEED_TABLES[table].join(', ')}) from stdin`;
}

/** A text value for COPY's text format: backslash, tab and line breaks escaped. */
export function copyText(value: string): string {
  return /[\\\t\n\r]/.test(value)
    ? value.replace(/[\\\t\n\r]/g, (c) =>
        c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
      )
    : value;
}

const TAB = 9;
const NEWLINE = 10;
const BACKSLASH = 92;
const HEX_DIGITS = [...'0123456789abcdef'].map((c) => c.charCodeAt(0));
const HEX_HIGH = Uint8Array.from({ length: 256 }, (_, i) => HEX_DIGITS[i >>> 4]!);
const HEX_LOW = Uint8Array.from({ length: 256 }, (_, i) => HEX_DIGITS[i & 15]!);
const DAY = 86_400_000;

/**
 * Builds COPY text-format rows straight into a growing byte buffer: no intermediate strings for
 * the bulky parts (hex bytea, timestamps), which keeps the garbage collector out of the way.
 * Each field method appends the value and a tab; `end()` turns the last tab into a newline.
 */
export class CopyWriter {
  private buf: Buffer;
  private pos = 0;
  rows = 0;
  private dayStart = Number.NaN;
  private dayPrefix = Buffer.alloc(0);

  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafeSlow(capacity);
  }

  private room(bytes: number) {
    if (this.pos + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A value known to be ASCII without tabs, newlines or backslashes (ids, enum labels). */
  ascii(value: string): this {
    this.room(value.length + 1);
    this.pos += this.buf.write(value, this.pos, 'latin1');
    this.buf[this.pos++] = TAB;
    return this;
  }

  text(value: string): this {
    const escaped = copyText(value);
    this.room(escaped.length * 3 + 1);
    this.pos += this.buf.write(escaped, this.pos, 'utf8');
    this.buf[this.pos++] = TAB;
    return this;
  }

  int(value: number): this {
    return this.ascii(String(value));
  }

  bool(value: boolean): this {
    return this.ascii(value ? 't' : 'f');
  }

  nul(): this {
    return this.ascii('\\N');
  }

  /** bytea in hex input form, its backslash escaped for COPY: \\x0a1b... */
  bytea(value: Uint8Array): this {
    this.room(value.length * 2 + 4);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = BACKSLASH;
    buf[p++] = BACKSLASH;
    buf[p++] = 120; // x
    for (let i = 0; i < value.length; i++) {
      const b = value[i]!;
      buf[p++] = HEX_HIGH[b]!;
      buf[p++] = HEX_LOW[b]!;
    }
    buf[p++] = TAB;
    this.pos = p;
    return this;
  }

  /** A UTC timestamp (milliseconds since the epoch) as ISO 8601: 2024-05-01T12:34:56.789Z. */
  time(ms: number): this {
    const t = Math.floor(ms);
    const start = t - (((t % DAY) + DAY) % DAY);
    if (start !== this.dayStart) {
      this.dayStart = start;
      this.dayPrefix = Buffer.from(new Date(start).toISOString().slice(0, 11), 'latin1');
    }
    this.room(25);
    const buf = this.buf;
    let p = this.pos;
    buf.set(this.dayPrefix, p);
    p += this.dayPrefix.length;
    let rest = t - start;
    const hours = Math.floor(rest / 3_600_000);
    rest -= hours * 3_600_000;
    const minutes = Math.floor(rest / 60_000);
    rest -= minutes * 60_000;
    const seconds = Math.floor(rest / 1000);
    const millis = rest - seconds * 1000;
    buf[p++] = 48 + Math.floor(hours / 10);
    buf[p++] = 48 + (hours % 10);
    buf[p++] = 58; // :
    buf[p++] = 48 + Math.floor(minutes / 10);
    buf[p++] = 48 + (minutes % 10);
    buf[p++] = 58;
    buf[p++] = 48 + Math.floor(seconds / 10);
    buf[p++] = 48 + (seconds % 10);
    buf[p++] = 46; // .
    buf[p++] = 48 + Math.floor(millis / 100);
    buf[p++] = 48 + (Math.floor(millis / 10) % 10);
    buf[p++] = 48 + (millis % 10);
    buf[p++] = 90; // Z
    buf[p++] = TAB;
    this.pos = p;
    return this;
  }

  /** Bytes already in COPY form (a row's beginning written elsewhere). */
  raw(bytes: Uint8Array): this {
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  get length(): number {
    return this.pos;
  }

  /** Ends the row. */
  end(): void {
    this.buf[this.pos - 1] = NEWLINE;
    this.rows++;
  }

  /** The rows written so far, in a buffer of their own (transferable), and a fresh start. */
  take(): Uint8Array {
    // The buffer itself is handed over (its own ArrayBuffer, transferable without a copy) and a
    // fresh one of the same size takes its place.
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos);
    this.buf = Buffer.allocUnsafeSlow(this.buf.length);
    this.pos = 0;
    this.rows = 0;
    return out;
  }
}
