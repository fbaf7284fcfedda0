/**
 * SASL for clients, as Apache ZooKeeper 3.8 offers it with a JAAS file whose server section
 * (`Server` by default) uses DigestLoginModule: the DIGEST-MD5 mechanism (RFC 2831, qop=auth)
 * against the `user_<name>="<password>"` options of that section. A client that completes it
 * gains the identity `sasl:<name>`. Kerberos (GSSAPI) is not implemented.
 *
 * The JAAS file is named by `java.security.auth.login.config` and the section by
 * `zookeeper.sasl.serverconfig`, both read as zoo.cfg keys.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A failed SASL exchange; ZooKeeper answers AuthFailed and closes the connection. */
export class SaslError extends Error {
  override name = 'SaslError';
}

/** A JAAS configuration file that cannot be used; the server does not start (as ZooKeeper's does not). */
export class JaasConfigError extends Error {
  override name = 'JaasConfigError';
}

/** One login module line of a JAAS section. */
export interface JaasModule {
  className: string;
  /** required, requisite, sufficient or optional. */
  flag: string;
  options: ReadonlyMap<string, string>;
}

export const DIGEST_LOGIN_MODULE = 'org.apache.zookeeper.server.auth.DigestLoginModule';
/** The protocol and server name ZooKeeper gives its DIGEST-MD5 server, so the digest-uri clients must use. */
export const SASL_PROTOCOL = 'zookeeper';
export const DIGEST_SERVER_NAME = 'zk-sasl-md5';
const USER_OPTION_PREFIX = 'user_';

/**
 * Parses a JAAS login configuration (javax.security.auth.login.ConfigFile's format):
 * `Name { module.Class flag key="value" ...; ... };`, with // and /* *\/ comments.
 */
export function parseJaasConfig(text: string, source: string): Map<string, JaasModule[]> {
  const tokens = tokenizeJaas(text, source);
  let at = 0;
  const next = (what: string): string => {
    const token = tokens[at++];
    if (token === undefined) throw new JaasConfigError(`${source}: expected ${what}, found the end of the file`);
    return token.text;
  };
  const expect = (symbol: string): void => {
    const found = next(`'${symbol}'`);
    if (found !== symbol) throw new JaasConfigError(`${source}: expected '${symbol}', found '${found}'`);
  };
  const sections = new Map<string, JaasModule[]>();
  while (at < tokens.length) {
    const name = next('a section name');
    expect('{');
    const modules: JaasModule[] = [];
    while (tokens[at]?.text !== '}') {
      const className = next('a login module class');
      const flag = next('a control flag');
      const options = new Map<string, string>();
      while (tokens[at]?.text !== ';') {
        const key = next("an option or ';'");
        expect('=');
        options.set(key, next(`the value of ${key}`));
      }
      expect(';');
      modules.push({ className, flag, options });
    }
    expect('}');
    expect(';');
    sections.set(name, [...(sections.get(name) ?? []), ...modules]);
  }
  return sections;
}

function tokenizeJaas(text: string, source: string): { text: string }[] {
  const tokens: { text: string }[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) throw new JaasConfigError(`${source}: unterminated comment`);
      i = end + 2;
    } else if ('{};='.includes(c)) {
      tokens.push({ text: c });
      i++;
    } else if (c === '"') {
      let value = '';
      for (i++; i < text.length && text[i] !== '"'; i++) value += text[i] === '\\' && i + 1 < text.length ? text[++i] : text[i];
      if (i >= text.length) throw new JaasConfigError(`${source}: unterminated quoted string`);
      i++;
      tokens.push({ text: value });
    } else {
      const start = i;
      while (i < text.length && !/[\s{};="]/.test(text[i]!) && !text.startsWith('//', i) && !text.startsWith('/*', i)) i++;
      tokens.push({ text: text.slice(start, i) });
    }
  }
  return tokens;
}

/** The DIGEST-MD5 users of a JAAS section, or undefined when the section has no DigestLoginModule. */
export function digestUsersOf(modules: readonly JaasModule[] | undefined): Map<string, string> | undefined {
  const digest = modules?.filter((module) => module.className === DIGEST_LOGIN_MODULE) ?? [];
  if (digest.length === 0) return undefined;
  const users = new Map<string, string>();
  for (const module of digest) {
    for (const [key, value] of module.options) {
      if (key.startsWith(USER_OPTION_PREFIX)) users.set(key.slice(USER_OPTION_PREFIX.length), value);
    }
  }
  return users;
}

/**
 * Reads the server's SASL users from the JAAS file: undefined when no file is configured or its
 * section has no DigestLoginModule (then clients' SASL packets get an empty Ok, as from a
 * ZooKeeper without SASL). A file that cannot be read or parsed is an error, as in ZooKeeper.
 */
export function loadSaslUsers(
  jaasFile: string | undefined,
  section: string,
  warn: (message: string) => void,
): Map<string, string> | undefined {
  if (jaasFile === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(jaasFile, 'utf8');
  } catch (error) {
    throw new JaasConfigError(`${jaasFile}: cannot read the JAAS configuration: ${(error as Error).message}`);
  }
  const modules = parseJaasConfig(text, jaasFile).get(section);
  const users = digestUsersOf(modules);
  if (modules !== undefined && users === undefined) {
    warn(
      `${jaasFile}: section ${section} has no ${DIGEST_LOGIN_MODULE}; zkts implements SASL DIGEST-MD5 only ` +
        '(not Kerberos), so clients cannot authenticate with SASL',
    );
  }
  return users;
}

/** What one step of the exchange answers: a token for the client, and the identity once complete. */
export interface SaslStep {
  token: Buffer;
  /** Set when the exchange is complete: the authorization id the client gained. */
  authorizationId?: string;
}

/**
 * The server side of one client's DIGEST-MD5 exchange (RFC 2831, as Java's DigestMD5Server runs
 * it for ZooKeeper): an empty first token gets the challenge; the client's digest-response is
 * checked and answered with rspauth, which completes the exchange.
 */
export class DigestMd5Server {
  private step: 'challenge' | 'response' | 'done' = 'challenge';
  private readonly nonce: string;

  constructor(
    private readonly users: ReadonlyMap<string, string>,
    nonce: string = randomBytes(32).toString('base64'),
  ) {
    this.nonce = nonce;
  }

  evaluate(token: Buffer): SaslStep {
    switch (this.step) {
      case 'challenge':
        if (token.length !== 0) throw new SaslError('DIGEST-MD5 must not have an initial response');
        this.step = 'response';
        return { token: Buffer.from(this.challenge(), 'utf8') };
      case 'response':
        // A failed response ends the exchange: the connection is closed.
        this.step = 'done';
        return this.verify(token);
      case 'done':
        throw new SaslError('DIGEST-MD5 authentication already completed');
    }
  }

  private challenge(): string {
    return `realm="${DIGEST_SERVER_NAME}",nonce="${this.nonce}",qop="auth",charset=utf-8,algorithm=md5-sess`;
  }

  private verify(token: Buffer): SaslStep {
    const directives = parseDirectives(token.toString('latin1'));
    const utf8 = directives.get('charset')?.toLowerCase() === 'utf-8';
    if (directives.has('charset') && !utf8) throw new SaslError(`unsupported charset ${directives.get('charset')}`);
    // Values were read byte for byte; with charset=utf-8 the client sent them in UTF-8.
    const text = (name: string): string | undefined => {
      const value = directives.get(name);
      return value === undefined || !utf8 ? value : Buffer.from(value, 'latin1').toString('utf8');
    };
    const username = required(text('username'), 'username');
    const realm = text('realm') ?? '';
    if (directives.has('realm') && realm !== DIGEST_SERVER_NAME) throw new SaslError(`nonexistent realm: ${realm}`);
    if (required(directives.get('nonce'), 'nonce') !== this.nonce) throw new SaslError('mismatched nonce');
    const cnonce = required(directives.get('cnonce'), 'cnonce');
    const nc = required(directives.get('nc'), 'nc');
    if (!/^[0-9a-f]{8}$/i.test(nc) || parseInt(nc, 16) !== 1) throw new SaslError(`nonce count does not match: ${nc}`);
    const qop = directives.get('qop') ?? 'auth';
    if (qop !== 'auth') throw new SaslError(`unsupported qop: ${qop}`);
    const digestUri = required(text('digest-uri'), 'digest-uri');
    if (digestUri.toLowerCase() !== `${SASL_PROTOCOL}/${DIGEST_SERVER_NAME}`) throw new SaslError(`mismatched URI: ${digestUri}`);
    const authzid = text('authzid');
    const password = this.users.get(username);
    if (password === undefined) throw new SaslError(`cannot acquire password for ${username} in realm ${realm}`);
    const a1 = Buffer.concat([
      md5(Buffer.concat([hashBytes(username), Buffer.from(':'), hashBytes(realm), Buffer.from(':'), hashBytes(password)])),
      Buffer.from(`:${this.nonce}:${cnonce}`, 'latin1'),
      authzid === undefined ? Buffer.alloc(0) : Buffer.concat([Buffer.from(':'), hashBytes(authzid)]),
    ]);
    const expected = digestResponse(a1, this.nonce, nc, cnonce, qop, `AUTHENTICATE:${digestUri}`);
    const given = Buffer.from(required(directives.get('response'), 'response').toLowerCase(), 'latin1');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new SaslError('mismatched response');
    const rspauth = digestResponse(a1, this.nonce, nc, cnonce, qop, `:${digestUri}`);
    // ZooKeeper authorizes every authenticated client, as its own authentication id.
    return { token: Buffer.concat([Buffer.from('rspauth='), rspauth]), authorizationId: username };
  }
}

/** HEX(KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2)))) of RFC 2831, as lowercase hex bytes. */
function digestResponse(a1: Buffer, nonce: string, nc: string, cnonce: string, qop: string, a2: string): Buffer {
  const hexA1 = md5(a1).toString('hex');
  const hexA2 = md5(Buffer.from(a2, 'latin1')).toString('hex');
  return Buffer.from(md5(Buffer.from(`${hexA1}:${nonce}:${nc}:${cnonce}:${qop}:${hexA2}`, 'latin1')).toString('hex'), 'latin1');
}

function md5(data: Buffer): Buffer {
  return createHash('md5').update(data).digest();
}

/** RFC 2831: a string all of whose characters are in ISO 8859-1 is hashed in it, any other in UTF-8. */
function hashBytes(value: string): Buffer {
  const inLatin1 = [...value].every((char) => char.codePointAt(0)! <= 0xff);
  return inLatin1 ? Buffer.from(value, 'latin1') : Buffer.from(value, 'utf8');
}

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new SaslError(`digest response format violation: missing ${name}`);
  return value;
}

/** `key=value` or `key="quoted \" value"` pairs separated by commas; keys are case-insensitive. */
export function parseDirectives(text: string): Map<string, string> {
  const directives = new Map<string, string>();
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /[\s,]/.test(text[i]!)) i++;
  };
  for (skipSpace(); i < text.length; skipSpace()) {
    const eq = text.indexOf('=', i);
    if (eq === -1) throw new SaslError('digest response format violation: a directive without a value');
    const key = text.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let value = '';
    if (text[i] === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) value += text[i] === '\\' && i + 1 < text.length ? text[++i] : text[i];
      if (i >= text.length) throw new SaslError('digest response format violation: unterminated quoted string');
      i++;
    } else {
      const end = text.indexOf(',', i);
      value = text.slice(i, end === -1 ? text.length : end).trim();
      i = end === -1 ? text.length : end;
    }
    if (directives.has(key)) throw new SaslError(`digest response format violation: ${key} given twice`);
    directives.set(key, value);
  }
  return directives;
}
