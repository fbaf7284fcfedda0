/**
 * The snapshot writer thread (see writeSnapshot): given the columns of a snapshot's copy
 * (moved here) and the record chunks (shared memory), it encodes the snapshot, writes it
 * durably, and answers with its size. One thread per snapshot.
 */
import { parentPort } from 'node:worker_threads';
import { writeSnapshotFile, type SnapshotWrite } from './snapshot.js';

const port = parentPort;
if (port === null) throw new Error('snapshot-writer runs as a worker thread');

port.once('message', ({ file, zxid, sessions, acls, columns }: SnapshotWrite) => {
  void writeSnapshotFile({ zxid, sessions, acls, columns }, file).then((result) => port.postMessage(result));
});
