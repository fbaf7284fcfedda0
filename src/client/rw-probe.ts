/**
 * Asks a server whether it serves writes, with the `isro` four-letter word
 * (answered "rw" or "ro"), as the Java client does while its session is
 * connected to a read-only server (ClientCnxn.pingRwServer).
 */
import { connect } from 'node:net';
import type { ServerAddress } from './connect-string.js';

/** True if the server answered "rw" within the timeout; false for "ro", no answer or any error. */
export function isReadWriteServer(server: ServerAddress, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect({ host: server.host, port: server.port });
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.once('connect', () => socket.end('isro'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(answer === 'rw'));
  });
}
