/**
 * Values printed and parsed the way zkCli's Java code does, because scripts
 * written against zkCli.sh parse its output: Date.toString(),
 * Long.toHexString(), Integer.parseInt() and friends, String.split(), and the
 * toString() of ZooKeeper's records, events and exceptions.
 */
import { EventType, KeeperState, Perms } from '../../protocol/constants.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import type { Id, Stat, WatchEvent } from '../../client/mod.js';

// ---- numbers ----

/** Long.toHexString: negative values as their 64-bit two's complement. */
export function toHexString(value: number | bigint): string {
  const big = typeof value === 'bigint' ? value : BigInt(value);
  return BigInt.asUintN(64, big).toString(16);
}

/** Thrown where Java throws NumberFormatException; callers choose the message zkCli prints. */
export class NumberFormatError extends Error {
  override name = 'NumberFormatError';
}

const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

function parseDecimal(text: string, min: bigint, max: bigint): bigint {
  if (!/^[+-]?\d+$/.test(text)) throw new NumberFormatError(`For input string: "${text}"`);
  const value = BigInt(text);
  if (value < min || value > max) throw new NumberFormatError(`For input string: "${text}"`);
  return value;
}

/** Integer.parseInt: optional sign, decimal digits, 32-bit range. */
export function parseJavaInt(text: string): number {
  return Number(parseDecimal(text, INT_MIN, INT_MAX));
}

/** Long.parseLong: optional sign, decimal digits, 64-bit range. */
export function parseJavaLong(text: string): bigint {
  return parseDecimal(text, LONG_MIN, LONG_MAX);
}

/** Integer.decode: like parseInt, but also 0x / 0X / # (hex) and a leading 0 (octal). */
export function decodeJavaInt(text: string): number {
  const match = /^([+-]?)(0[xX]|#|0(?=.))?(.+)$/.exec(text);
  if (match === null) throw new NumberFormatError(`For input string: "${text}"`);
  const [, sign = '', prefix = '', digits = ''] = match;
  const radix = prefix === '' ? 10 : prefix === '0' ? 8 : 16;
  const valid = radix === 10 ? /^\d+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9a-fA-F]+$/;
  if (!valid.test(digits)) throw new NumberFormatError(`For input string: "${text}"`);
  const magnitude = [...digits].reduce((acc, digit) => acc * BigInt(radix) + BigInt(parseInt(digit, radix)), 0n);
  const value = sign === '-' ? -magnitude : magnitude;
  if (value < INT_MIN || value > INT_MAX) throw new NumberFormatError(`For input string: "${text}"`);
  return Number(value);
}

// ---- strings ----

/**
 * String.split with a literal separator: trailing empty strings are
 * dropped, but a string without the separator is returned whole (so
 * "".split(",") is [""] while ",".split(",") is []).
 */
export function javaSplit(text: string, separator: string): string[] {
  if (!text.includes(separator)) return [text];
  const parts = text.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** List.toString: "[a, b]". */
export function javaListToString(items: readonly string[]): string {
  return `[${items.join(', ')}]`;
}

// ---- dates ----

let dateFormat: Intl.DateTimeFormat | undefined;
const zoneFormats = new Map<string, Intl.DateTimeFormat>();
/**
 * Java names zones by its own abbreviations (CET, IST, AEST); Intl knows
 * each only in some English locales, so these are asked in turn.
 */
const ZONE_LOCALES = ['en-US', 'en-GB', 'en-IN', 'en-AU'];

/**
 * Date.toString(): "EEE MMM dd HH:mm:ss zzz yyyy" in the local time zone,
 * e.g. "Sat Nov 28 06:37:09 UTC 2026". A zone none of ZONE_LOCALES has an
 * abbreviation for is written as Java writes an unnamed zone,
 * "GMT+09:00" (where Java may know one, such as JST).
 */
export function formatJavaDate(epochMs: number): string {
  dateFormat ??= new Intl.DateTimeFormat('en-US', {
    weekday: 'short',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    year: 'numeric',
  });
  const date = new Date(epochMs);
  const parts = new Map<string, string>();
  for (const part of dateFormat.formatToParts(date)) parts.set(part.type, part.value);
  const get = (type: string): string => parts.get(type) ?? '';
  const year = get('year').padStart(4, '0');
  return `${get('weekday')} ${get('month')} ${get('day')} ${get('hour')}:${get('minute')}:${get('second')} ${zoneName(date)} ${year}`;
}

function zoneName(date: Date): string {
  let offsetName: string | undefined;
  for (const locale of ZONE_LOCALES) {
    let format = zoneFormats.get(locale);
    if (format === undefined) zoneFormats.set(locale, (format = new Intl.DateTimeFormat(locale, { timeZoneName: 'short' })));
    const name = format.formatToParts(date).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
    if (!/^GMT[+-]/.test(name)) return name;
    offsetName ??= name;
  }
  return javaOffsetName(offsetName ?? 'GMT');
}

/** "GMT+1" → "GMT+01:00", "GMT-3:30" → "GMT-03:30", "GMT+0" → "GMT+00:00". */
function javaOffsetName(intlName: string): string {
  const offset = /^GMT([+-])(\d{1,2})(?::(\d\d))?$/.exec(intlName);
  if (offset === null) return intlName;
  const [, sign, hours = '0', minutes = '00'] = offset;
  return `GMT${sign}${hours.padStart(2, '0')}:${minutes}`;
}

// ---- ZooKeeper records ----

/** StatPrinter.print, as lines. */
export function statLines(stat: Stat): string[] {
  return [
    `cZxid = 0x${toHexString(stat.czxid)}`,
    `ctime = ${formatJavaDate(stat.ctime)}`,
    `mZxid = 0x${toHexString(stat.mzxid)}`,
    `mtime = ${formatJavaDate(stat.mtime)}`,
    `pZxid = 0x${toHexString(stat.pzxid)}`,
    `cversion = ${stat.cversion}`,
    `dataVersion = ${stat.version}`,
    `aclVersion = ${stat.aversion}`,
    `ephemeralOwner = 0x${toHexString(stat.ephemeralOwner)}`,
    `dataLength = ${stat.dataLength}`,
    `numChildren = ${stat.numChildren}`,
  ];
}

/**
 * Id.toString() of the jute-generated record (ToStringOutputArchive): each
 * string quoted with a leading "'" and escaped, comma separated, and a
 * newline at the end of a top-level record: "'world,'anyone\n".
 */
export function idToString(id: Id): string {
  return `${juteString(id.scheme)},${juteString(id.id)}\n`;
}

function juteString(text: string): string {
  const escapes: Record<string, string> = { '\0': '%00', '\n': '%0A', '\r': '%0D', ',': '%2C', '}': '%7D', '%': '%25' };
  return "'" + text.replace(/[\0\n\r,}%]/g, (c) => escapes[c] ?? c);
}

/** ZKUtil.getPermString: the permission letters in the order c, d, r, w, a. */
export function permString(perms: number): string {
  let out = '';
  if (perms & Perms.CREATE) out += 'c';
  if (perms & Perms.DELETE) out += 'd';
  if (perms & Perms.READ) out += 'r';
  if (perms & Perms.WRITE) out += 'w';
  if (perms & Perms.ADMIN) out += 'a';
  return out;
}

const KEEPER_STATE_NAMES = new Map<number, string>(Object.entries(KeeperState).map(([name, value]) => [value, name]));
const EVENT_TYPE_NAMES = new Map<number, string>(Object.entries(EventType).map(([name, value]) => [value, name]));

/** WatchedEvent.toString() (3.8): state events have path null. */
export function watchedEventString(event: WatchEvent): string {
  const state = KEEPER_STATE_NAMES.get(event.state) ?? String(event.state);
  const type = EVENT_TYPE_NAMES.get(event.type) ?? String(event.type);
  const path = event.type === EventType.None ? 'null' : event.path;
  return `WatchedEvent state:${state} type:${type} path:${path}`;
}

/** KeeperException.getCodeMessage: the texts differ from the enum names for some codes. */
const CODE_MESSAGES = new Map<number, string>([
  [ErrorCode.Ok, 'ok'],
  [ErrorCode.NotEmpty, 'Directory not empty'],
  [ErrorCode.SessionExpired, 'Session expired'],
  [ErrorCode.InvalidCallback, 'Invalid callback'],
  [ErrorCode.SessionMoved, 'Session moved'],
  [ErrorCode.NotReadOnly, 'Not a read-only call'],
  [ErrorCode.EphemeralOnLocalSession, 'Ephemeral node on local session'],
  [ErrorCode.NoWatcher, 'No such watcher'],
  [ErrorCode.ReconfigDisabled, 'Reconfig is disabled'],
  [ErrorCode.SessionClosedRequireSaslAuth, 'Session closed because client failed to authenticate'],
  [ErrorCode.QuotaExceeded, 'Quota has exceeded'],
  [ErrorCode.ThrottledOp, 'Op throttled due to high load'],
]);
/** The codes getCodeMessage names by their enum constant's CamelCase name; the rest fall to its default. */
const CODES_NAMED_AS_IS = new Set<number>([
  ErrorCode.SystemError,
  ErrorCode.RuntimeInconsistency,
  ErrorCode.DataInconsistency,
  ErrorCode.ConnectionLoss,
  ErrorCode.MarshallingError,
  ErrorCode.NewConfigNoQuorum,
  ErrorCode.ReconfigInProgress,
  ErrorCode.Unimplemented,
  ErrorCode.OperationTimeout,
  ErrorCode.BadArguments,
  ErrorCode.APIError,
  ErrorCode.NoNode,
  ErrorCode.NoAuth,
  ErrorCode.BadVersion,
  ErrorCode.NoChildrenForEphemerals,
  ErrorCode.NodeExists,
  ErrorCode.InvalidACL,
  ErrorCode.AuthFailed,
]);

/** KeeperException.getMessage(): "KeeperErrorCode = NoNode for /a". */
export function keeperExceptionMessage(code: number, path: string | undefined): string {
  const text =
    CODE_MESSAGES.get(code) ?? (CODES_NAMED_AS_IS.has(code) ? errorName(code) : `Unknown error ${errorName(code).toUpperCase()}`);
  return `KeeperErrorCode = ${text}${path === undefined ? '' : ` for ${path}`}`;
}
