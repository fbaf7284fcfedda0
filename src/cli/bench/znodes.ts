/**
 * Where a benchmark run keeps its znodes, and pipelined bulk create/delete
 * for setting them up and removing them.
 *
 * Every run works under its own run path (`<root>/<run id>`), so runs never
 * collide and cleaning up is deleting what that run made:
 *
 *   <run>/data/<i>             the read set (getData, setData, mixed, multi)
 *   <run>/create/w<k>s<j>/<n>  created by session j of worker k (create)
 *   <run>/watch/w<k>s<j>-<m>   watched and set by slot m of that session (watch)
 */
import { JuteWriter } from '../../jute/mod.js';
import { CreateMode, OpCode, Perms } from '../../protocol/constants.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { ACL } from '../../protocol/records.js';
import { encodeBody, type BenchSession } from './session.js';

export const layout = {
  dataDir: (run: string): string => `${run}/data`,
  dataNode: (run: string, index: number): string => `${run}/data/${index}`,
  createDir: (run: string): string => `${run}/create`,
  createParent: (run: string, worker: number, session: number): string => `${run}/create/w${worker}s${session}`,
  created: (run: string, worker: number, session: number, seq: number): string => `${run}/create/w${worker}s${session}/${seq}`,
  watchDir: (run: string): string => `${run}/watch`,
  watchNode: (run: string, worker: number, session: number, slot: number): string => `${run}/watch/w${worker}s${session}-${slot}`,
};

/** The body of a create request after its path: data, the open ACL and persistent mode. */
export function createSuffix(data: Buffer): Buffer {
  return encodeBody((w) => {
    w.writeBuffer(data);
    w.writeInt(1);
    ACL.encode(w, { perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } });
    w.writeInt(CreateMode.PERSISTENT);
  });
}

/** How many requests bulk operations keep in flight on one session. */
const BULK_WINDOW = 256;

/**
 * Sends `count` requests on `session`, at most BULK_WINDOW in flight, and
 * resolves when all are answered; a reply code not in `accepted` rejects
 * (after the rest are in), and so does losing the connection.
 */
export function pipeline(
  session: BenchSession,
  count: number,
  issue: (index: number, onReply: (err: number) => void) => void,
  accepted: readonly number[] = [ErrorCode.Ok],
): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let answered = 0;
    let failure: string | undefined;
    const onReply = (err: number): void => {
      if (!session.alive) {
        reject(new Error('connection lost'));
        return;
      }
      answered++;
      if (!accepted.includes(err)) failure ??= errorName(err);
      if (next < count) issue(next++, onReply);
      else if (answered === count) {
        if (failure === undefined) resolve();
        else reject(new Error(`bulk request failed: ${failure}`));
      }
    };
    if (count === 0) resolve();
    while (next < count && next < BULK_WINDOW) issue(next++, onReply);
  });
}

/** Creates the znodes at `paths` (parents first: they are created in order) with `data`. */
export function createAll(session: BenchSession, paths: readonly string[], data: Buffer, accepted?: readonly number[]): Promise<void> {
  const suffix = createSuffix(data);
  return pipeline(
    session,
    paths.length,
    (i, onReply) =>
      session.sendEncoded(
        OpCode.create,
        (w: JuteWriter) => {
          w.writeString(paths[i]!);
          w.writeBytes(suffix);
        },
        (err) => onReply(err),
      ),
    accepted,
  );
}

/** Deletes the znodes at `paths` (children before parents); ones already gone are fine. */
export function deleteAll(session: BenchSession, paths: readonly string[], accepted: readonly number[] = [ErrorCode.Ok, ErrorCode.NoNode]): Promise<void> {
  return pipeline(
    session,
    paths.length,
    (i, onReply) =>
      session.sendEncoded(
        OpCode.delete,
        (w) => {
          w.writeString(paths[i]!);
          w.writeInt(-1);
        },
        (err) => onReply(err),
      ),
    accepted,
  );
}

/** The ancestors of an absolute path and the path itself, outermost first ("/a/b" → ["/a", "/a/b"]). */
export function pathAndAncestors(path: string): string[] {
  const parts = path.split('/').filter((part) => part !== '');
  return parts.map((_, i) => '/' + parts.slice(0, i + 1).join('/'));
}
