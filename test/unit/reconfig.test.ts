/**
 * Reconfig requests in the preparer: dynamic reconfiguration is not implemented, but a request
 * ZooKeeper's leader would refuse is refused with ZooKeeper's error, in ZooKeeper's order of
 * checks (kazoo's TestReconfig.test_no_super_auth and test_bad_input expect NoAuth and
 * BadArguments from an ensemble).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OpCode } from '../../src/protocol/constants.js';
import { errorName } from '../../src/protocol/errors.js';
import type { ReconfigRequest } from '../../src/protocol/records.js';
import type { QuorumServerSpec } from '../../src/server/config.js';
import { RequestPreparer, type PrepOptions, type RequestContext } from '../../src/server/prep.js';
import { SUPER_ID } from '../../src/tree/acl.js';
import { ZkDatabase } from '../../src/tree/database.js';

const SESSION = 0x100n;
const CLIENT: RequestContext = { sessionId: SESSION, cxid: 1, authIds: [{ scheme: 'ip', id: '127.0.0.1' }] };
const SUPER: RequestContext = { ...CLIENT, authIds: [...CLIENT.authIds, SUPER_ID] };

/** kazoo's test ensemble: three voters on localhost. */
const ENSEMBLE: QuorumServerSpec[] = [1, 2, 3].map((id) => ({
  id,
  host: 'localhost',
  quorumPort: 27400 + 10 * id + 2,
  electionPort: 27400 + 10 * id + 1,
  role: 'participant',
  clientPort: 27400 + 10 * id,
}));

/** The error a reconfig request from `ctx` is answered with. */
function reconfigError(request: Partial<ReconfigRequest>, ctx = CLIENT, options: Partial<PrepOptions> = {}): string {
  const db = new ZkDatabase({ extendedTypesEnabled: false });
  const prep = new RequestPreparer(db, {
    extendedTypesEnabled: false,
    skipACL: false,
    reconfigEnabled: true,
    quorumServers: ENSEMBLE,
    ...options,
  });
  const session = prep.prepareCreateSession(SESSION, 10_000, Buffer.alloc(16), 1);
  db.apply(session);
  prep.applied(session);
  const req: ReconfigRequest = { joiningServers: '', leavingServers: '', newMembers: '', curConfigId: -1, ...request };
  const txn = prep.prepare(ctx, { type: OpCode.reconfig, req }, 2);
  assert.equal(txn.body.type, OpCode.error, 'a reconfig is never carried out');
  return errorName((txn.body as { error: { err: number } }).error.err);
}

describe('reconfig', () => {
  it('is ReconfigDisabled without reconfigEnabled, and Unimplemented on a standalone server', () => {
    assert.equal(reconfigError({ leavingServers: '3' }, SUPER, { reconfigEnabled: false }), 'ReconfigDisabled');
    assert.equal(reconfigError({ joiningServers: 'some thing' }, CLIENT, { quorumServers: undefined }), 'Unimplemented');
  });

  it('refuses a malformed joiner with BadArguments, before any permission check', () => {
    const malformed = ['some thing', 'server.5=a=b', 'server.5=localhost:1', 'server.5=localhost:1:2:voter;3', 'server.5=localhost:1:2'];
    for (const joining of malformed) {
      assert.equal(reconfigError({ joiningServers: joining }), 'BadArguments', joining);
    }
  });

  it('fails a server id that is not a number as ZooKeeper’s NumberFormatException does', () => {
    assert.equal(reconfigError({ leavingServers: 'three' }), 'MarshallingError');
    assert.equal(reconfigError({ joiningServers: 'server.x=localhost:1:2;3' }), 'MarshallingError');
  });

  it('refuses a configuration with fewer than two voters', () => {
    assert.equal(reconfigError({ leavingServers: '2,3' }, SUPER), 'BadArguments');
    assert.equal(reconfigError({ newMembers: 'server.1=localhost:27412:27411:participant;27410' }, SUPER), 'BadArguments');
    assert.equal(reconfigError({ leavingServers: '2,3' }, SUPER, { standaloneEnabled: false }), 'Unimplemented');
  });

  it('needs WRITE on /zookeeper/config, which only the super user has', () => {
    const joining = 'server.999=0.0.0.0:1234:2345:observer;3456';
    assert.equal(reconfigError({ joiningServers: joining }), 'NoAuth');
    assert.equal(reconfigError({ joiningServers: joining }, CLIENT, { skipACL: true }), 'Unimplemented');
    assert.equal(reconfigError({ joiningServers: joining }, SUPER), 'Unimplemented');
    assert.equal(reconfigError({ leavingServers: ' 3 , ' }, SUPER), 'Unimplemented');
  });

  it('checks the session first', () => {
    const expired: RequestContext = { ...SUPER, sessionId: 0x999n };
    assert.equal(reconfigError({ joiningServers: 'some thing' }, expired), 'SessionExpired');
  });
});
