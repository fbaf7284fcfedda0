/**
 * Reading Apache ZooKeeper's files on synthetic input built to its format
 * (the import test reads files the real ZooKeeper wrote): Adler-32, Snappy,
 * txn conversion, logs with torn tails and bad checksums, snapshots.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { JuteError, JuteWriter } from '../../src/jute/mod.js';
import { OpCode } from '../../src/protocol/constants.js';
import { ACL } from '../../src/protocol/records.js';
import { CreateTxn, SetDataTxn, TxnHeader } from '../../src/protocol/txn.js';
import { zkSessionPassword } from '../../src/storage/java-random.js';
import { SnappyError, decompressSnappyBlock, decompressSnappyStream } from '../../src/storage/snappy.js';
import { ZkFormatError, adler32, decodeZkTxn, readZkLog, readZkSnapshot, zkLogsAfter } from '../../src/storage/zk-format.js';
import { OPEN_ACL_UNSAFE } from '../../src/tree/acl.js';
import { tempDir } from './helpers.js';

const SESSION = 0x100000abcdef0001n;

/** TxnHeader + body (+ a TxnDigest) as ZooKeeper serializes a txn. */
function zkTxn(type: number, zxid: number, body: (w: JuteWriter) => void, digest = false): Buffer {
  const w = new JuteWriter();
  TxnHeader.encode(w, { clientId: SESSION, cxid: 3, zxid, time: 1_700_000_000_000 + zxid, type });
  body(w);
  if (digest) {
    w.writeInt(2);
    w.writeLong(123456789);
  }
  return w.take();
}

function createBody(path: string, data: string): (w: JuteWriter) => void {
  return (w) => CreateTxn.encode(w, { path, data: Buffer.from(data), acl: OPEN_ACL_UNSAFE, ephemeral: false, parentCVersion: 1 });
}

/** A txn log file: header, entries (checksum, length, bytes, 'B'), then `tail` (preallocated zeros by default). */
function zkLog(entries: Buffer[], tail: Buffer = Buffer.alloc(512)): Buffer {
  const w = new JuteWriter();
  w.writeInt(0x5a4b4c47);
  w.writeInt(2);
  w.writeLong(0);
  for (const bytes of entries) {
    w.writeLong(adler32(bytes));
    w.writeBuffer(bytes);
    w.writeBytes(Buffer.from([0x42]));
  }
  return Buffer.concat([w.take(), tail]);
}

function writeTemp(name: string, bytes: Buffer): string {
  const file = join(tempDir(), name);
  writeFileSync(file, bytes);
  return file;
}

describe('adler32', () => {
  test('matches the published vector', () => {
    assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398);
  });

  test('matches zlib on large input (a zlib stream ends with the Adler-32 of its data)', () => {
    const data = Buffer.alloc(200_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const zlibStream = deflateSync(data);
    assert.equal(adler32(data), zlibStream.readUInt32BE(zlibStream.length - 4));
  });
});

describe('snappy', () => {
  // "abc" as a literal, a 9-byte copy from 3 back (overlapping itself), a 1-byte literal.
  const block = Buffer.from([13, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03, 0x00, 0x78]);

  test('decompresses literals and overlapping back-references', () => {
    assert.equal(decompressSnappyBlock(block).toString(), 'abcabcabcabcx');
  });

  test('decompresses two-byte-offset copies and long literals', () => {
    const literal = Buffer.alloc(100, 0x41);
    // Literal of 100 bytes: tag 60<<2 (length in one extra byte, minus one), then a copy of 64 bytes from 100 back.
    const bytes = Buffer.concat([Buffer.from([164, 1, 60 << 2, 99]), literal, Buffer.from([(63 << 2) | 2, 100, 0])]);
    assert.deepEqual(decompressSnappyBlock(bytes), Buffer.alloc(164, 0x41));
  });

  test('reads the snappy-java stream format, chunk after chunk', () => {
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
    const chunk = Buffer.concat([Buffer.from([0, 0, 0, block.length]), block]);
    assert.equal(decompressSnappyStream(Buffer.concat([header, chunk, chunk])).toString(), 'abcabcabcabcx'.repeat(2));
  });

  test('rejects references before the start and wrong lengths', () => {
    assert.throws(() => decompressSnappyBlock(Buffer.from([4, 0x15, 0x03])), SnappyError);
    assert.throws(() => decompressSnappyBlock(Buffer.from([5, 0x08, 0x61, 0x62, 0x63])), SnappyError);
  });
});

describe('ZooKeeper txns', () => {
  test('createSession gets the password ZooKeeper derived from the session id; a TxnDigest is skipped', () => {
    const { txn, hasDigest } = decodeZkTxn(zkTxn(OpCode.createSession, 1, (w) => w.writeInt(30000), true));
    assert.equal(hasDigest, true);
    assert.deepEqual(txn.body, { type: OpCode.createSession, createSession: { timeOut: 30000, passwd: zkSessionPassword(SESSION) } });
    assert.equal(txn.clientId, SESSION);
    assert.equal(txn.cxid, 3);
    assert.equal(txn.zxid, 1);
  });

  test('closeSession without a record (zookeeper.closeSessionTxn.enabled=false), with or without a digest', () => {
    for (const digest of [false, true]) {
      const { txn } = decodeZkTxn(zkTxn(OpCode.closeSession, 2, () => undefined, digest));
      assert.deepEqual(txn.body, { type: OpCode.closeSession, closeSession: { paths2Delete: [] } });
    }
    const { txn } = decodeZkTxn(zkTxn(OpCode.closeSession, 2, (w) => (w.writeInt(1), w.writeString('/e')), true));
    assert.deepEqual(txn.body, { type: OpCode.closeSession, closeSession: { paths2Delete: ['/e'] } });
  });

  test('reconfig becomes the setData of /zookeeper/config it is', () => {
    const { txn } = decodeZkTxn(zkTxn(OpCode.reconfig, 3, (w) => SetDataTxn.encode(w, { path: '/zookeeper/config', data: Buffer.from('server.1=a'), version: 1 })));
    assert.equal(txn.body.type, OpCode.setData);
  });

  test('a create from before parentCVersion existed increments the parent', () => {
    const v0 = zkTxn(OpCode.create, 4, (w) => {
      w.writeString('/old');
      w.writeBuffer(Buffer.from('x'));
      w.writeInt(1);
      ACL.encode(w, OPEN_ACL_UNSAFE[0]!);
      w.writeBool(true);
    });
    const { txn } = decodeZkTxn(v0);
    assert.ok(txn.body.type === OpCode.create);
    assert.equal(txn.body.create.parentCVersion, -1);
    assert.equal(txn.body.create.ephemeral, true);
  });

  test('other trailing bytes are an error', () => {
    const bytes = Buffer.concat([zkTxn(OpCode.create, 5, createBody('/a', 'x')), Buffer.alloc(3)]);
    assert.throws(() => decodeZkTxn(bytes), JuteError);
  });
});

describe('ZooKeeper txn logs', () => {
  const entries = [
    zkTxn(OpCode.createSession, 1, (w) => w.writeInt(30000), true),
    zkTxn(OpCode.create, 2, createBody('/a', 'hello'), true),
    zkTxn(OpCode.setData, 3, (w) => SetDataTxn.encode(w, { path: '/a', data: Buffer.from('v2'), version: 1 }), true),
  ];

  test('are read up to the preallocated zeros', () => {
    const scan = readZkLog(writeTemp('log.1', zkLog(entries)));
    assert.deepEqual(
      scan.entries.map((e) => [e.txn.zxid, e.txn.body.type, e.hasDigest]),
      [
        [1, OpCode.createSession, true],
        [2, OpCode.create, true],
        [3, OpCode.setData, true],
      ],
    );
    assert.equal(scan.torn, null);
    assert.equal(scan.entries[0]!.offset, 16);
  });

  test('a partial last entry ends the file, as in ZooKeeper', () => {
    const whole = zkLog(entries, Buffer.alloc(0));
    const cut = whole.subarray(0, whole.length - 5);
    const scan = readZkLog(writeTemp('log.1', cut));
    assert.equal(scan.entries.length, 2);
    assert.ok(scan.torn !== null);
    assert.match(scan.torn.reason, /runs past the end/);
    const noEnd = Buffer.from(zkLog(entries));
    noEnd[16 + 12 + entries[0]!.length] = 0; // the first entry's 'B'
    assert.match(readZkLog(writeTemp('log.1', noEnd)).torn!.reason, /end-of-record/);
  });

  test('a checksum mismatch is an error naming file and offset', () => {
    const bytes = zkLog(entries);
    const second = 16 + 12 + entries[0]!.length + 1;
    bytes[second + 12 + 10]! ^= 0x01;
    const file = writeTemp('log.1', bytes);
    assert.throws(() => readZkLog(file), (e: unknown) => e instanceof ZkFormatError && e.offset === second && e.message.includes(file));
  });

  test('the logs needed after a zxid start with the last one beginning at or before it', () => {
    const logs = [1, 20, 41].map((zxid) => ({ path: `log.${zxid}`, zxid, compression: 'none' as const }));
    assert.deepEqual(zkLogsAfter(logs, 30).map((l) => l.zxid), [20, 41]);
    assert.deepEqual(zkLogsAfter(logs, 20).map((l) => l.zxid), [20, 41]);
    assert.deepEqual(zkLogsAfter(logs, 0).map((l) => l.zxid), [1, 20, 41]);
  });
});

/** A snapshot as FileSnap writes it: header, sessions, ACL cache, nodes, seal, ZxidDigest, seal. */
function zkSnapshot(): Buffer {
  const w = new JuteWriter();
  w.writeInt(0x5a4b534e);
  w.writeInt(2);
  w.writeLong(-1);
  w.writeInt(1);
  w.writeBigLong(SESSION);
  w.writeInt(12000);
  w.writeInt(1);
  w.writeLong(1);
  w.writeInt(1);
  ACL.encode(w, { perms: 1, id: { scheme: 'world', id: 'anyone' } });
  const node = (path: string, data: string, acl: number, czxid: number, owner: bigint): void => {
    w.writeString(path);
    w.writeBuffer(Buffer.from(data));
    w.writeLong(acl);
    for (const v of [czxid, czxid, 1000, 2000]) w.writeLong(v);
    for (const v of [2, 3, 0]) w.writeInt(v);
    w.writeBigLong(owner);
    w.writeLong(czxid);
  };
  node('', '', -1, 0, 0n);
  node('/e', 'eph', 1, 5, SESSION);
  w.writeString('/');
  const seal = (): void => {
    w.writeLong(adler32(w.view()));
    w.writeString('/');
  };
  seal();
  w.writeLong(5);
  w.writeInt(2);
  w.writeLong(987654321);
  seal();
  return w.take();
}

describe('ZooKeeper snapshots', () => {
  test('are read whole: sessions, ACL cache, nodes, both seals', () => {
    const file = writeTemp('snapshot.5', zkSnapshot());
    const snapshot = readZkSnapshot({ path: file, zxid: 5, compression: 'none' });
    assert.deepEqual(snapshot.sessions, [{ id: SESSION, timeoutMs: 12000 }]);
    assert.deepEqual([...snapshot.acls.keys()], [1]);
    assert.deepEqual(
      snapshot.nodes.map((n) => [n.path, Buffer.from(n.data!).toString('latin1'), n.aclId, n.stat.cversion, n.stat.ephemeralOwner]),
      [
        ['', '', -1, 3, 0n],
        ['/e', 'eph', 1, 3, SESSION],
      ],
    );
  });

  test('gzip-compressed ones are checked on their uncompressed bytes', () => {
    const file = writeTemp('snapshot.5.gz', gzipSync(zkSnapshot()));
    assert.equal(readZkSnapshot({ path: file, zxid: 5, compression: 'gz' }).nodes.length, 2);
  });

  test('a flipped byte fails the checksum', () => {
    const bytes = zkSnapshot();
    bytes[60]! ^= 0x20;
    const file = writeTemp('snapshot.5', bytes);
    assert.throws(() => readZkSnapshot({ path: file, zxid: 5, compression: 'none' }), ZkFormatError);
  });
});
