#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { cryptoCommand } from './crypto-commands.js';
import { benchCommand } from './bench-command.js';
import { isoCommand } from './iso-commands.js';
import { terminalCommand } from './terminal-command.js';
import { auditCommand, demoCommand, ledgerCommand, serveCommand, transactionsCommand } from './platform-commands.js';
import { describeError, EXIT_BAD_INPUT, EXIT_OK, processIo, type Io } from './output.js';
import { merchantsCommand, terminalsCommand } from './admin-commands.js';
import { cardsCommand } from './cards-command.js';
import { backupCommand, restoreCommand } from './backup-commands.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

/** Builds the `posgate` program. Exposed for tests, which run it in-process with their own `io`. */
export function buildProgram(io: Io, setExit: (code: number) => void, keepAlive: (close: () => Promise<void>) => void = () => {}): Command {
  let exitSet = false;
  const run = async (action: () => Promise<void> | void, json: () => boolean): Promise<void> => {
    try {
      exitSet = false;
      await action();
      if (!exitSet) setExit(EXIT_OK);
    } catch (err) {
      const { code, message, exit } = describeError(err);
      if (json()) io.out(JSON.stringify({ error: { code, message } }, null, 2));
      io.err(`posgate: ${message}`);
      setExit(exit);
    }
  };
  const program = new Command('posgate')
    .description('posgate: open-source POS acquiring platform')
    .version(version())
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride()
    .showHelpAfterError(false);
  const setExitOnce = (code: number) => {
    exitSet = true;
    setExit(code);
  };
  program.addCommand(cryptoCommand(io, run));
  program.addCommand(isoCommand(io, run));
  program.addCommand(serveCommand(io, run, keepAlive));
  program.addCommand(demoCommand(io, run));
  program.addCommand(ledgerCommand(io, run, setExitOnce));
  program.addCommand(auditCommand(io, run, setExitOnce));
  program.addCommand(benchCommand(io, run));
  program.addCommand(terminalCommand(io, run));
  program.addCommand(merchantsCommand(io, run));
  program.addCommand(terminalsCommand(io, run));
  program.addCommand(cardsCommand(io, run));
  program.addCommand(transactionsCommand(io, run));
  program.addCommand(backupCommand(io, run));
  program.addCommand(restoreCommand(io, run));
  for (const command of program.commands) applyExitOverride(command, io);
  return program;
}

function applyExitOverride(command: Command, io: Io): void {
  command.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  for (const sub of command.commands) applyExitOverride(sub, io);
}

export async function main(argv: string[], io: Io = processIo, keepAlive?: (close: () => Promise<void>) => void): Promise<number> {
  let exit = EXIT_OK;
  const program = buildProgram(io, (code) => (exit = code), keepAlive);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; every usage mistake (unknown option, missing value, bad choice) exits 2
      return err.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    }
    throw err;
  }
  return exit;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly || process.argv[1]?.endsWith('/posgate')) {
  // Long-running commands (serve, terminal) hand over a close function; signals shut them down cleanly.
  const keepAlive = (close: () => Promise<void>) => {
    let closing = false;
    const stop = () => {
      if (closing) return;
      closing = true;
      close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  };
  main(process.argv.slice(2), processIo, keepAlive).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`posgate: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
