/**
 * The cases of cases.ts marked `reference`, compared with zkCli.sh on
 * Apache ZooKeeper 3.8: where the server's part of the output (errors,
 * stats, quota usage, TTL nodes) could hide a difference on zkts alone.
 */
import { after, before, describe, it } from 'node:test';
import { isReferenceZkAvailable, skipUnlessInstalled, startReferenceZk } from '../harness/reference-zk.js';
import { isZkCliAvailable } from '../harness/zkcli.js';
import type { ZkServerHandle } from '../harness/zkts-server.js';
import { CASES } from './cases.js';
import { runCase } from './compare.js';

const skip = skipUnlessInstalled({ zkCli: isZkCliAvailable(), referenceZk: isReferenceZkAvailable() });

describe('zkts shell one-shot, compared with zkCli.sh on Apache ZooKeeper', { skip }, () => {
  let server: ZkServerHandle;

  before(async () => {
    server = await startReferenceZk();
  });

  after(async () => {
    await server?.stop();
  });

  for (const [index, shellCase] of CASES.entries()) {
    if (shellCase.reference !== true) continue;
    it(shellCase.name, () => runCase(server.connectString, shellCase, `reference-${index}`));
  }
});
