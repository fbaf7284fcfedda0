export { JuteReader, JuteError, decodeJavaUtf8 } from './reader.js';
export { JuteWriter } from './writer.js';
export {
  record,
  vector,
  encodeToBuffer,
  decodeFromBuffer,
  type RecordType,
  type Decoded,
  type Encodable,
  type FieldType,
  type Primitive,
} from './schema.js';
