/**
 * The snapshot writer thread (see writeSnapshot): it gathers the names and data the server
 * thread sends a slice at a time, then, given the number columns, encodes the snapshot and
 * writes it durably, and answers with its size. One thread per snapshot.
 */
import { parentPort } from 'node:worker_threads';
import { writeSnapshotFile, type SnapshotStrings, type SnapshotWrite } from './snapshot.js';

const port = parentPort;
if (port === null) throw new Error('snapshot-writer runs as a worker thread');

const names: string[] = [];

port.on('message', (message: SnapshotStrings | SnapshotWrite) => {
  if (message.kind === 'strings') {
    for (let i = 0; i < message.name.length; i++) names.push(message.name[i]!);
    return;
  }
  const { file, zxid, sessions, acls, numbers } = message;
  void writeSnapshotFile({ zxid, sessions, acls, columns: { ...numbers, name: names } }, file).then((result) =>
    port.postMessage(result),
  );
});
