import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { childPath, isValidPath, nameOf, parentOf, pathProblem } from '../../src/protocol/paths.js';

/**
 * A line-by-line transliteration of ZooKeeper 3.8's PathUtils.validatePath,
 * returning its "caused by" reason (or the early messages) instead of throwing.
 * It serves as the oracle for the property test below.
 */
function javaValidatePath(path: string): string | null {
  if (path.length === 0) return 'Path length must be > 0';
  if (path.charAt(0) !== '/') return 'Path must start with / character';
  if (path.length === 1) return null;
  if (path.charAt(path.length - 1) === '/') return 'Path must not end with / character';
  let lastc = '/';
  for (let i = 1; i < path.length; lastc = path.charAt(i), i++) {
    const c = path.charAt(i);
    if (c === '\u0000') {
      return `null character not allowed @${i}`;
    } else if (c === '/' && lastc === '/') {
      return `empty node name specified @${i}`;
    } else if (c === '.' && lastc === '.') {
      if (path.charAt(i - 2) === '/' && (i + 1 === path.length || path.charAt(i + 1) === '/')) {
        return `relative paths not allowed @${i}`;
      }
    } else if (c === '.') {
      if (path.charAt(i - 1) === '/' && (i + 1 === path.length || path.charAt(i + 1) === '/')) {
        return `relative paths not allowed @${i}`;
      }
    } else if (
      (c > '\u0000' && c <= '\u001f') ||
      (c >= '\u007f' && c <= '\u009F') ||
      (c >= '\ud800' && c <= '\uf8ff') ||
      (c >= '\ufff0' && c <= '\uffff')
    ) {
      return `invalid character @${i}`;
    }
  }
  return null;
}

describe('pathProblem', () => {
  // Cases from PathUtilsTest and the notes' rules; null means valid.
  const cases: [string, string | null][] = [
    ['/', null],
    ['/a', null],
    ['/zookeeper', null],
    ['/zookeeper/quota', null],
    ['/this is / a valid/path', null],
    ['/name/with.period.', null],
    ['/a.b', null],
    ['/a/...', null],
    ['/.a', null],
    ['/a..', null],
    ['/..a', null],
    ['/test\u0020', null],
    ['/test\u007e', null],
    ['/test\u00a0', null],
    ['/test\ud7ff', null],
    ['/test\uf900', null],
    ['/test\uffef', null],
    ['/路径/ünï', null],
    ['', 'Path length must be > 0'],
    ['a', 'Path must start with / character'],
    ['not/valid', 'Path must start with / character'],
    ['/a/', 'Path must not end with / character'],
    ['/ends/with/slash/', 'Path must not end with / character'],
    ['//a', 'empty node name specified @1'],
    ['/double//slash', 'empty node name specified @8'],
    ['/a/./b', 'relative paths not allowed @3'],
    ['/single/./period', 'relative paths not allowed @8'],
    ['/a/../b', 'relative paths not allowed @4'],
    ['/double/../period', 'relative paths not allowed @9'],
    ['/.', 'relative paths not allowed @1'],
    ['/..', 'relative paths not allowed @2'],
    ['/a/.', 'relative paths not allowed @3'],
    ['/a/..', 'relative paths not allowed @4'],
    ['/\u0000', 'null character not allowed @1'],
    ['/test\u0000', 'null character not allowed @5'],
    ['/\u0001', 'invalid character @1'],
    ['/test\u001f', 'invalid character @5'],
    ['/test\u007f', 'invalid character @5'],
    ['/test\u009f', 'invalid character @5'],
    ['/\ud800', 'invalid character @1'],
    ['/\u{1F600}', 'invalid character @1'],
    ['/test\uf8ff', 'invalid character @5'],
    ['/test\ufff0', 'invalid character @5'],
    ['/\uffff', 'invalid character @1'],
  ];

  for (const [path, problem] of cases) {
    it(`${problem === null ? 'accepts' : 'rejects'} ${JSON.stringify(path)}`, () => {
      assert.equal(pathProblem(path), problem);
      assert.equal(isValidPath(path), problem === null);
    });
  }

  it('agrees with PathUtils.validatePath on random paths, reason and position included', () => {
    // An alphabet dense in the characters the rules single out.
    const unit = fc.constantFrom(
      ...['/', '/', '.', '.', 'a', 'z', ' ', '\u0000', '\u0001', '\u001f', '\u007e', '\u007f', '\u009f', '\u00a0'],
      ...['\ud7ff', '\ud800', '\udfff', '\uf8ff', '\uf900', '\uffef', '\ufff0', '\uffff'],
    );
    const path = fc.oneof(
      fc.string({ unit, maxLength: 10 }),
      fc.string({ unit, maxLength: 10 }).map((s) => `/${s}`),
    );
    fc.assert(
      fc.property(path, (p) => {
        assert.equal(pathProblem(p), javaValidatePath(p));
      }),
      { seed: 1729, numRuns: 5000 },
    );
  });
});

describe('path helpers', () => {
  it('parentOf gives the parent of a non-root path', () => {
    assert.equal(parentOf('/a'), '/');
    assert.equal(parentOf('/a/b'), '/a');
    assert.equal(parentOf('/a/b/c'), '/a/b');
    assert.equal(parentOf('/a.b/c.d'), '/a.b');
  });

  it('nameOf gives the last component', () => {
    assert.equal(nameOf('/'), '');
    assert.equal(nameOf('/a'), 'a');
    assert.equal(nameOf('/a/b/c'), 'c');
  });

  it('childPath joins without doubling the root slash', () => {
    assert.equal(childPath('/', 'a'), '/a');
    assert.equal(childPath('/a', 'b'), '/a/b');
    assert.equal(childPath('/a/b', 'c-0000000001'), '/a/b/c-0000000001');
  });

  it('childPath(parentOf(p), nameOf(p)) rebuilds any valid non-root path', () => {
    const component = fc.string({ unit: fc.constantFrom('a', 'b', '.', '-', 'é', '0'), minLength: 1, maxLength: 4 });
    const path = fc
      .array(component, { minLength: 1, maxLength: 5 })
      .map((parts) => `/${parts.join('/')}`)
      .filter(isValidPath);
    fc.assert(
      fc.property(path, (p) => {
        assert.equal(childPath(parentOf(p), nameOf(p)), p);
        assert.ok(isValidPath(parentOf(p)));
      }),
      { seed: 31337, numRuns: 500 },
    );
  });
});
