import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/server/config.js';
import { runFourLetterWord, type ServerView } from '../../src/server/four-letter-words.js';

/** `conf` reads only the configuration and the server's id (and sizes of directories that need not exist). */
function confOf(zooCfg: string[], myId: number): string {
  const { config } = parseConfig(['dataDir=/nonexistent/zkts-conf-test', '4lw.commands.whitelist=conf', ...zooCfg].join('\n'), 'zoo.cfg');
  const view = { config, membership: { myId } } as unknown as ServerView;
  return runFourLetterWord('conf', view);
}

describe('conf', () => {
  it("prints an ensemble member's own id, ports and membership, ending as ZooKeeper's QuorumVerifier text", () => {
    const text = confOf(
      [
        'clientPort=27410',
        'initLimit=4',
        'syncLimit=2',
        'server.1=localhost:27402:27401:participant',
        'server.2=localhost:27412:27411:participant',
        'server.3=localhost:27422:27421:participant',
      ],
      2,
    );
    assert.match(text, /\nserverId=2\n/);
    assert.match(text, /\nelectionPort=27411\nquorumPort=27412\npeerType=0\nmembership: \nserver\.1=/);
    assert.ok(text.endsWith('server.3=localhost:27422:27421:participant\nversion=0'), text);
  });

  it('prints serverId=0 for a standalone server, with every line ended', () => {
    const text = confOf(['clientPort=2181'], 0);
    assert.match(text, /\nserverId=0\n$/);
  });
});
