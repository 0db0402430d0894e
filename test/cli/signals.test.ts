/**
 * In a container the CLI is PID 1: a signal without a handler is ignored, so every command must
 * stop on SIGTERM by itself. `check` against a source that answers very slowly is stopped mid-request.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { faults, startScarfSimulator } from '../../connectors/scarf/simulator.js';
import { EXIT } from '../../src/core/errors.js';
import { scarfSource, tempDir, writeConfig } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'exportsync.js');

describe('signals', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('sigterm-stops-a-command-without-its-own-handler-with-exit-130', async () => {
    const sim = await startScarfSimulator({ token: 'tok' });
    try {
      sim.setFaults({ faultRate: 1, faultKinds: [faults.slow(20_000)] });
      const config = writeConfig(
        tmp.dir,
        'slow.yaml',
        `destination: { type: duckdb, path: ${join(tmp.dir, 'w.duckdb')} }\nsources:\n${scarfSource({ baseUrl: sim.url, token: 'tok' })}\n`,
      );
      const child = spawn(process.execPath, [BIN, 'check', '--config', config], {
        env: { ...process.env, EXPORTSYNC_LOG_LEVEL: 'warn', EXPORTSYNC_LOG_FORMAT: 'json' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      // Wait until the request is in flight at the simulator, then stop the command.
      for (let i = 0; i < 200 && sim.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(sim.requests.length).toBeGreaterThan(0);
      const started = Date.now();
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, stderr).toBe(EXIT.interrupted);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(stderr).toContain('stopped by SIGTERM');
    } finally {
      await sim.close();
    }
  });
});
