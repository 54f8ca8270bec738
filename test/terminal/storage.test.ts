import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStorage, TerminalError, type TerminalState } from '../../src/terminal/index.js';
import { posgateBinary } from '../cli/run-cli.js';

const STATE: TerminalState = { tmk: '0123456789ABCDEFFEDCBA9876543210', batch: 7, stan: 41, signedIn: false, batchLog: [] };
const folder = () => mkdtempSync(join(tmpdir(), 'posgate-state-'));
const modeOf = (file: string) => statSync(file).mode & 0o777;

describe.skipIf(process.platform === 'win32')('the software terminal\'s state file (its secure storage)', () => {
  it('is written for its owner alone (0600), and read back as it was written', () => {
    const file = join(folder(), 'nested', 't.json');
    new FileStorage(file).save(STATE);
    expect(modeOf(file)).toBe(0o600);
    expect(new FileStorage(file).load()).toEqual(STATE);
  });

  it('is refused when others can read it, since its keys may have been copied; the file is left as it is', () => {
    const file = join(folder(), 't.json');
    new FileStorage(file).save(STATE);
    chmodSync(file, 0o644);
    expect(() => new FileStorage(file).load()).toThrow(TerminalError);
    expect(() => new FileStorage(file).load()).toThrow(/readable by others \(mode 644\).*chmod 600/);
    expect(modeOf(file)).toBe(0o644);
  });

  it('is refused when it is not a terminal state file, with a code, and left as it is', () => {
    const dir = folder();
    for (const [name, text] of [['broken.json', '{"batch": 1,'], ['other.json', '{"hello": "world"}'], ['null.json', 'null']] as const) {
      const file = join(dir, name);
      writeFileSync(file, text, { mode: 0o600 });
      let caught: unknown;
      try {
        new FileStorage(file).load();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(TerminalError);
      expect((caught as TerminalError).code).toBe('state_file_corrupt');
      expect(readFileSync(file, 'utf8')).toBe(text);
    }
  });

  it('does not inherit the mode of a temporary file a crash left behind', () => {
    const file = join(folder(), 't.json');
    writeFileSync(`${file}.tmp`, 'half', { mode: 0o644 });
    new FileStorage(file).save(STATE);
    expect(modeOf(file)).toBe(0o600);
  });

  it('posgate terminal will not start on an exposed state file: exit 2, and it says what to do', () => {
    const file = join(folder(), 't.json');
    new FileStorage(file).save(STATE);
    chmodSync(file, 0o640);
    const r = posgateBinary(['terminal', '--demo', '1', '--state', file], '0\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is readable by others (mode 640)');
    expect(r.stdout).not.toContain('签到');
  });
});
