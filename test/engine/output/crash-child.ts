// A run that writes a result into a claimed output and is SIGKILLed at a named step of the commit (argv[3]),
// or exits through process.exit in the middle of writing ('exit-while-writing'). Used by claim.test.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { claimOutput, onCommitStep } from '../../../src/engine/output/claim';

const [out, killAt, version] = process.argv.slice(2);
onCommitStep(name => {
  if (name === killAt) process.kill(process.pid, 'SIGKILL');
});
const claim = claimOutput(out, { kind: 'test' });
const dir = claim.stage();
fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ version }));
fs.mkdirSync(path.join(dir, 'sub'));
fs.writeFileSync(path.join(dir, 'sub', 'weights.bin'), Buffer.alloc(1000, Number(version)));
if (killAt === 'exit-while-writing') process.exit(130);
void claim.commit().then(() => claim.release());
