#!/usr/bin/env node
// The `woodfisher` command line: prune | gradual | sweep | inspect | demo.
import { Command, CommanderError } from 'commander';
import { demoCommand } from './commands/demo';
import { gradualCommand } from './commands/gradual';
import { inspectCommand } from './commands/inspect';
import { pruneCommand } from './commands/prune';
import { sweepCommand } from './commands/sweep';
import { EXIT, reportFailure } from './errors';
import { version } from '../../package.json';
import { pinnedLinalg } from '../engine/linalg/fastest';

export function buildProgram(): Command {
  const program = new Command('woodfisher')
    .description('WoodFisher (second-order, Optimal Brain Surgeon) pruning of TensorFlow.js models')
    .version(version)
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (s, write) => write(s.replace(/\n(?=.)/g, ' ')) }) // one line
    .hook('preAction', () => void pinnedLinalg()); // a bad WOODFISHER_LINALG is refused before any work
  // Subcommands inherit exitOverride and the output settings when added with addCommand after copying them.
  for (const cmd of [pruneCommand(), gradualCommand(), sweepCommand(), inspectCommand(), demoCommand()]) {
    cmd.copyInheritedSettings(program);
    program.addCommand(cmd);
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit with 0; everything else commander reports (already printed) is a usage error,
      // including help shown because no command was given.
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return reportFailure(e, s => process.stderr.write(s));
  }
}

/** Runs the CLI and exits with its code (the `woodfisher` bin and `node dist/cli.js` both land here). */
export function runAndExit(argv: string[]): void {
  // A reader that leaves early (`woodfisher help prune | head -1`) closes the pipe: stop quietly, as `cat` would.
  process.stdout.on('error', e => {
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') process.exit(EXIT.ok);
    throw e;
  });
  main(argv).then(code => {
    process.exitCode = code;
    // TF.js backends can keep handles open; leave once the output is flushed.
    process.stdout.write('', () => process.exit(code));
  });
}

if (require.main === module) runAndExit(process.argv);
