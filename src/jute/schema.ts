/**
 * Jute record schemas. Each wire record is described once, as an ordered map
 * of field names to field types; its encoder and decoder are derived from
 * that description, and so are its TypeScript types.
 *
 * The codecs are generated as straight-line functions (one `new Function` per
 * record, at module load). A generic loop over the fields would use keyed
 * property access with ever-changing keys, which V8 cannot optimise; the
 * generated code reads and builds fixed-shape objects, which matters because
 * every request and response passes through here.
 */
import { JuteReader } from './reader.js';
import { JuteWriter } from './writer.js';

/**
 * Wire primitives. `long` maps to a JS number (zxids, times and TTLs stay
 * below 2^53); `bigLong` to a bigint (session ids and ephemeral owners use all
 * 64 bits). A `buffer` decodes to a view of the input and encodes from any
 * byte view.
 */
export type Primitive = 'int' | 'long' | 'bigLong' | 'bool' | 'buffer' | 'ustring';

export interface VectorType<E extends FieldType = FieldType> {
  readonly kind: 'vector';
  readonly element: E;
}

export type FieldType = Primitive | RecordType<object, object> | VectorType<FieldType>;

export type Fields = { readonly [name: string]: FieldType };

/** The decoded (output) TypeScript type of a field. */
export type OutOf<F> = F extends 'int' | 'long'
  ? number
  : F extends 'bigLong'
    ? bigint
    : F extends 'bool'
      ? boolean
      : F extends 'buffer'
        ? Buffer | null
        : F extends 'ustring'
          ? string
          : F extends RecordType<infer O, object>
            ? O
            : F extends VectorType<infer E>
              ? OutOf<E>[]
              : never;

/** The TypeScript type a field accepts for encoding. */
export type InOf<F> = F extends 'int' | 'long'
  ? number
  : F extends 'bigLong'
    ? bigint
    : F extends 'bool'
      ? boolean
      : F extends 'buffer'
        ? Uint8Array | null
        : F extends 'ustring'
          ? string
          : F extends RecordType<object, infer I>
            ? I
            : F extends VectorType<infer E>
              ? readonly InOf<E>[]
              : never;

export type DecodedFields<Fs extends Fields> = { [K in keyof Fs]: OutOf<Fs[K]> };
export type EncodableFields<Fs extends Fields> = { readonly [K in keyof Fs]: InOf<Fs[K]> };

export interface RecordType<Out extends object, In extends object> {
  readonly kind: 'record';
  readonly name: string;
  readonly fieldNames: readonly string[];
  /** Each field's wire type, in field order (lets tools and tests walk a schema). */
  readonly fields: Fields;
  /** The fewest bytes one encoded instance can take (bounds vector counts). */
  readonly minBytes: number;
  encode(w: JuteWriter, value: In): void;
  decode(r: JuteReader): Out;
}

/** The decoded type of a record schema: `type Stat = Decoded<typeof Stat>`. */
export type Decoded<R> = R extends RecordType<infer O, object> ? O : never;
/** What a record schema accepts for encoding. */
export type Encodable<R> = R extends RecordType<object, infer I> ? I : never;

export function vector<E extends FieldType>(element: E): VectorType<E> {
  return { kind: 'vector', element };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function minBytesOf(type: FieldType): number {
  if (typeof type === 'string') {
    switch (type) {
      case 'int':
      case 'buffer':
      case 'ustring':
        return 4;
      case 'long':
      case 'bigLong':
        return 8;
      case 'bool':
        return 1;
    }
  }
  return type.kind === 'record' ? type.minBytes : 4;
}

type Encoder = (w: JuteWriter, v: unknown) => void;
type Decoder = (r: JuteReader) => unknown;

function encoderOf(type: FieldType): Encoder {
  if (typeof type === 'string') {
    switch (type) {
      case 'int':
        return (w, v) => w.writeInt(v as number);
      case 'long':
        return (w, v) => w.writeLong(v as number);
      case 'bigLong':
        return (w, v) => w.writeBigLong(v as bigint);
      case 'bool':
        return (w, v) => w.writeBool(v as boolean);
      case 'buffer':
        return (w, v) => w.writeBuffer(v as Uint8Array | null);
      case 'ustring':
        return (w, v) => w.writeString(v as string);
    }
  }
  if (type.kind === 'record') return (w, v) => type.encode(w, v as object);
  const element = encoderOf(type.element);
  return (w, v) => {
    const items = v as readonly unknown[] | null;
    if (items === null || items === undefined) {
      w.writeInt(-1);
      return;
    }
    w.writeInt(items.length);
    for (let i = 0; i < items.length; i++) element(w, items[i]);
  };
}

function decoderOf(type: FieldType): Decoder {
  if (typeof type === 'string') {
    switch (type) {
      case 'int':
        return (r) => r.readInt();
      case 'long':
        return (r) => r.readLong();
      case 'bigLong':
        return (r) => r.readBigLong();
      case 'bool':
        return (r) => r.readBool();
      case 'buffer':
        return (r) => r.readBuffer();
      case 'ustring':
        return (r) => r.readString();
    }
  }
  if (type.kind === 'record') return (r) => type.decode(r);
  const element = decoderOf(type.element);
  const elementBytes = minBytesOf(type.element);
  return (r) => {
    const n = r.readVectorCount(elementBytes);
    const items = new Array<unknown>(n);
    for (let i = 0; i < n; i++) items[i] = element(r);
    return items;
  };
}

const PRIMITIVE_WRITE: Partial<Record<Primitive, string>> = {
  int: 'writeInt',
  long: 'writeLong',
  bigLong: 'writeBigLong',
  bool: 'writeBool',
  ustring: 'writeString',
};
const PRIMITIVE_READ: Record<Primitive, string> = {
  int: 'readInt',
  long: 'readLong',
  bigLong: 'readBigLong',
  bool: 'readBool',
  buffer: 'readBuffer',
  ustring: 'readString',
};

/** Defines a jute record; field order is the order of `fields`. */
export function record<const Fs extends Fields>(
  name: string,
  fields: Fs,
): RecordType<DecodedFields<Fs>, EncodableFields<Fs>> {
  const names = Object.keys(fields);
  const helpers: (Encoder | Decoder)[] = [];
  const encodeLines: string[] = [];
  const decodeParts: string[] = [];
  for (const field of names) {
    if (!IDENTIFIER.test(field)) throw new Error(`record ${name}: bad field name ${field}`);
    const type = fields[field]!;
    const write = typeof type === 'string' ? PRIMITIVE_WRITE[type] : undefined;
    if (write !== undefined) {
      encodeLines.push(`w.${write}(v.${field});`);
    } else {
      helpers.push(encoderOf(type));
      encodeLines.push(`h[${helpers.length - 1}](w, v.${field});`);
    }
    if (typeof type === 'string') {
      decodeParts.push(`${field}: r.${PRIMITIVE_READ[type]}()`);
    } else {
      helpers.push(decoderOf(type));
      decodeParts.push(`${field}: h[${helpers.length - 1}](r)`);
    }
  }
  // Generated from our own field names only (checked above), never from input.
  const encode = new Function('h', `return function encode${name}(w, v) {\n${encodeLines.join('\n')}\n};`)(
    helpers,
  ) as (w: JuteWriter, v: EncodableFields<Fs>) => void;
  const decode = new Function('h', `return function decode${name}(r) {\nreturn { ${decodeParts.join(', ')} };\n};`)(
    helpers,
  ) as (r: JuteReader) => DecodedFields<Fs>;
  const minBytes = names.reduce((sum, f) => sum + minBytesOf(fields[f]!), 0);
  return { kind: 'record', name, fieldNames: names, fields, minBytes, encode, decode };
}

/** Encodes a record into a fresh buffer (tests, tools and cold paths). */
export function encodeToBuffer<In extends object>(type: RecordType<object, In>, value: In): Buffer {
  const w = new JuteWriter(256);
  type.encode(w, value);
  return w.take();
}

/** Decodes a whole buffer as one record, rejecting trailing bytes. */
export function decodeFromBuffer<Out extends object>(type: RecordType<Out, object>, buf: Buffer): Out {
  const r = new JuteReader(buf);
  const value = type.decode(r);
  r.expectEnd(type.name);
  return value;
}
