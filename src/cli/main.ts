#!/usr/bin/env node
/** The `zkts` command. */
import { Command } from 'commander';
import { registerBenchCommand } from './bench/command.js';
import { registerEnsembleCommand } from './ensemble.js';
import { ConfigError, loadConfig } from '../server/config.js';
import { createLogger } from '../server/logger.js';
import { ZkServer } from '../server/zk-server.js';
import { ZKTS_VERSION } from '../server/four-letter-words.js';
import type { ToolOutput } from '../storage/tools/describe.js';
import { runImport } from '../storage/tools/import.js';
import { runLogTool } from '../storage/tools/log-tool.js';
import { runSnapshotTool } from '../storage/tools/snapshot-tool.js';
import { runVerify } from '../storage/tools/verify.js';
import { runShell } from './shell/run.js';

async function runServer(configPath: string | undefined): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig(configPath);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`zkts: invalid configuration: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const { config, warnings } = loaded;
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  for (const warning of warnings) logger.warn(warning);
  logger.info(`configuration from ${config.source}`);
  let server: ZkServer;
  try {
    server = ZkServer.open(config, logger, {
      onFatal: (error) => {
        logger.fatal(`stopping: ${error.message}`);
        process.exit(1);
      },
    });
    await server.start();
  } catch (e) {
    logger.fatal(`cannot start: ${(e as Error).message}`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received, shutting down`);
    void server.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * Output for the storage tools. A reader that goes away (`zkts log f | head`)
 * ends the tool quietly instead of with an EPIPE error.
 */
function toolOutput(): ToolOutput {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  return {
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
  };
}

const program = new Command();
program.name('zkts').description('A ZooKeeper-compatible coordination service').version(ZKTS_VERSION);
program
  .command('server')
  .description('run a server (embedded defaults when no zoo.cfg is given)')
  .argument('[config]', 'path to a zoo.cfg')
  .action(runServer);
program
  .command('log')
  .description('print what a zkts log segment holds; exit 1 if it is corrupt (a torn tail is not)')
  .argument('<segment>', 'a log segment file (<dataLogDir>/zkts/log.<zxid>)')
  .option('--json', 'one JSON object per transaction')
  .action((segment: string, options: { json?: boolean }) => {
    process.exitCode = runLogTool(segment, { json: options.json === true }, toolOutput());
  });
program
  .command('snapshot')
  .description('print what a zkts snapshot holds; exit 1 if it is damaged')
  .argument('<snapshot>', 'a snapshot file (<dataDir>/zkts/snapshot.<zxid>)')
  .option('--json', 'JSON lines: the header, then sessions, ACL lists and znodes')
  .action((snapshot: string, options: { json?: boolean }) => {
    process.exitCode = runSnapshotTool(snapshot, { json: options.json === true }, toolOutput());
  });
program
  .command('verify')
  .description('check every snapshot, log segment and zxid of a zkts data directory; exit 1 on corruption')
  .argument('<dataDir>', 'the dataDir of the server')
  .option('--dataLogDir <dir>', 'the dataLogDir, when it differs from dataDir')
  .action((dataDir: string, options: { dataLogDir?: string }) => {
    process.exitCode = runVerify(dataDir, options, toolOutput());
  });
program
  .command('import')
  .description("convert Apache ZooKeeper's data (version-2 snapshots and txn logs) into a new zkts data directory")
  .argument('<zookeeperDataDir>', 'the dataDir of the ZooKeeper server (holding version-2)')
  .option('--dataLogDir <dir>', "ZooKeeper's dataLogDir, when it differs from its dataDir")
  .requiredOption('--to <zktsDataDir>', 'the zkts dataDir to write (its zkts directory must be empty or absent)')
  .action(async (zkDataDir: string, options: { dataLogDir?: string; to: string }) => {
    process.exitCode = await runImport(zkDataDir, options, toolOutput());
  });
registerBenchCommand(program);
registerEnsembleCommand(program);

program.addHelpText(
  'after',
  '\nThe shell (zkCli.sh compatible; its words are not parsed as options of zkts):\n' +
    '  zkts shell [-server host:port[,host:port...][/chroot]] [-timeout ms] [-r] [-waitforconnection] [cmd args...]\n',
);

// The shell reads its command line as zkCli does (single-dash words like -server, then a command with flags of its
// own), so it is dispatched before commander, which would take -V or --version anywhere as its own.
if (process.argv[2] === 'shell') {
  process.exit(await runShell(process.argv.slice(3)));
} else {
  await program.parseAsync(process.argv);
}
