/** Znode path rules, as Apache ZooKeeper's PathUtils applies them. */

/**
 * Returns why `path` is not a valid znode path, or null when it is valid.
 * A sequential create validates `path + "1"` (the suffix is appended later).
 */
export function pathProblem(path: string): string | null {
  if (path.length === 0) return 'Path length must be > 0';
  if (path.charCodeAt(0) !== 0x2f) return 'Path must start with / character';
  if (path.length === 1) return null;
  if (path.charCodeAt(path.length - 1) === 0x2f) return 'Path must not end with / character';
  let last = 0x2f;
  for (let i = 1; i < path.length; last = path.charCodeAt(i), i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return `null character not allowed @${i}`;
    if (c === 0x2f && last === 0x2f) return `empty node name specified @${i}`;
    if (c === 0x2e) {
      // "." or ".." as a whole component.
      const startsComponent = last === 0x2e ? path.charCodeAt(i - 2) === 0x2f : last === 0x2f;
      const endsComponent = i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f;
      if (startsComponent && endsComponent) return `relative paths not allowed @${i}`;
      continue;
    }
    if (
      (c > 0 && c <= 0x1f) ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0xd800 && c <= 0xf8ff) ||
      (c >= 0xfff0 && c <= 0xffff)
    ) {
      return `invalid character @${i}`;
    }
  }
  return null;
}

export function isValidPath(path: string): boolean {
  return pathProblem(path) === null;
}

/** The parent of a valid non-root path ("/a/b" → "/a", "/a" → "/"). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/** The last component of a valid path ("/a/b" → "b", "/" → ""). */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a parent path and a child name. */
export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}
