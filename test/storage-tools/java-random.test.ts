/**
 * The port of java.util.Random that recomputes ZooKeeper session passwords:
 * fixed vectors taken from a real JVM, and, when java is installed, a
 * cross-check against the JVM on many seeds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { JavaRandom, zkSessionPassword } from '../../src/storage/java-random.js';
import { skipUnlessInstalled } from '../harness/reference-zk.js';
import { tempDir } from './helpers.js';

describe('JavaRandom', () => {
  test('matches java.util.Random: new Random(42).nextBytes(16 bytes)', () => {
    assert.equal(new JavaRandom(42n).nextBytes(16).toString('hex'), '359d41baf78afe0de1bbe7ae28c0450c');
  });

  test('matches for a negative seed and a length that is not a multiple of four', () => {
    assert.equal(new JavaRandom(-1n).nextBytes(7).toString('hex'), 'b36cd944c32287');
  });

  test('gives the password Apache ZooKeeper 3.8 gave a real session', () => {
    // Session id and password as a kazoo client received them from ZooKeeper 3.8.
    assert.equal(zkSessionPassword(72057716756643840n).toString('hex'), '47389cc6c8f11c2bfd6ded58516bc78e');
  });

  test('handles session ids with the sign bit set', () => {
    assert.equal(zkSessionPassword(-9151314442816847871n).toString('hex'), '054cc74a37327db215e702e20c73f005');
  });
});

const JAVA_PROGRAM = `
import java.util.Random;
public class RandomVectors {
  public static void main(String[] args) {
    for (String arg : args) {
      byte[] bytes = new byte[16];
      new Random(Long.parseLong(arg)).nextBytes(bytes);
      StringBuilder hex = new StringBuilder();
      for (byte b : bytes) hex.append(String.format("%02x", b));
      System.out.println(hex);
    }
  }
}
`;

const javaInstalled = spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;

describe('JavaRandom against the JVM', { skip: skipUnlessInstalled({ java: javaInstalled }) }, () => {
  test('agrees on the first 16 bytes for many seeds', () => {
    const seeds = [0n, 1n, -1n, 0x7fffffffffffffffn, -0x8000000000000000n, 0xb3415c00n];
    let x = 0x243f6a8885a308d3n;
    for (let i = 0; i < 40; i++) {
      x = BigInt.asIntN(64, x * 6364136223846793005n + 1442695040888963407n);
      seeds.push(x);
    }
    const file = join(tempDir(), 'RandomVectors.java');
    writeFileSync(file, JAVA_PROGRAM);
    const run = spawnSync('java', [file, ...seeds.map(String)], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    const expected = run.stdout.trim().split('\n');
    assert.deepEqual(
      seeds.map((seed) => new JavaRandom(seed).nextBytes(16).toString('hex')),
      expected,
    );
  });
});
