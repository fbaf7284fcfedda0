/** Runs a ShellCase with both tools on one server (see cases.ts). */
import type { ZkClient } from '../../src/client/mod.js';
import type { ShellCase } from './cases.js';
import { assertSameRun, connect, runZkCliOneShot, runZktsShell } from './helpers.js';

/** `name` must be unique on the server: the case's two chroots are /<name>-zkcli and /<name>-zkts. */
export async function runCase(connectString: string, shellCase: ShellCase, name: string): Promise<void> {
  if (shellCase.shared === true) {
    for (const step of shellCase.steps) await compareStep(connectString, connectString, shellCase, step, false);
    return;
  }
  const [zkcliRoot, zktsRoot] = [`/${name}-zkcli`, `/${name}-zkts`];
  const clients: ZkClient[] = [];
  try {
    const admin = await connect(connectString);
    clients.push(admin);
    for (const root of [zkcliRoot, zktsRoot]) {
      await admin.create(root);
      const client = await connect(connectString + root);
      // Kept open while the steps run: the setup's ephemeral nodes live as long as it.
      clients.push(client);
      await shellCase.setup?.(client);
    }
    for (const step of shellCase.steps) await compareStep(connectString + zkcliRoot, connectString + zktsRoot, shellCase, step, true);
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

/** The two tools run at the same time: they work in different places, or only read. */
async function compareStep(zkcliServer: string, zktsServer: string, shellCase: ShellCase, step: string[], normalise: boolean): Promise<void> {
  const [expected, actual] = await Promise.all([runZkCliOneShot(zkcliServer, step), runZktsShell(zktsServer, step)]);
  assertSameRun(actual, expected, `${shellCase.name}: ${JSON.stringify(step)}`, { normalise });
}
