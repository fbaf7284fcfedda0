/**
 * The snapshot writer thread (see writeSnapshot): given the columns of a snapshot's copy
 * (moved here) and the record chunks (shared memory), it encodes the snapshot, writes it
 * durably, and answers with its size. One thread serves a process's snapshots one after
 * another: starting a thread and loading these modules took ~40 ms of CPU per snapshot.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { writeSnapshotFile, type SnapshotWrite, type SnapshotWriterReply } from './snapshot.js';

const port = parentPort;
if (port === null) throw new Error('snapshot-writer runs as a worker thread');

lowerThisThreadsPriority();

port.on('message', (write: SnapshotWrite) => {
  writeSnapshotFile(write, write.file).then(
    (result) => port.postMessage({ result } satisfies SnapshotWriterReply),
    (error: Error) => port.postMessage({ error: error.message } satisfies SnapshotWriterReply),
  );
});

/**
 * Requests come first: on Linux a thread has its own nice value, and at the lowest priority
 * this one takes a core only when requests leave it idle (a snapshot is due again only after
 * tens of thousands of transactions, and one due while this one runs is skipped).
 */
function lowerThisThreadsPriority(): void {
  try {
    // "<pid>/task/<tid>"
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(threadId, 19);
  } catch {
    // Not Linux (the process's priority is all there is), or a sandbox that refuses: snapshots
    // are written all the same, only without giving way to requests.
  }
}
