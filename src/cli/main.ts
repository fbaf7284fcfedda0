#!/usr/bin/env node
/** The `zkts` command. */
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../server/config.js';
import { createLogger } from '../server/logger.js';
import { ZkServer } from '../server/zk-server.js';
import { ZKTS_VERSION } from '../server/four-letter-words.js';

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

const program = new Command();
program.name('zkts').description('A ZooKeeper-compatible coordination service').version(ZKTS_VERSION);
program
  .command('server')
  .description('run a server (embedded defaults when no zoo.cfg is given)')
  .argument('[config]', 'path to a zoo.cfg')
  .action(runServer);

await program.parseAsync(process.argv);
