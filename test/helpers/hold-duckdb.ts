import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Another process with the DuckDB file open, as a running service would have it.
 * The child keeps the instance and a connection referenced: an unreferenced instance may be
 * garbage-collected, and its finalizer releases the file lock mid-test.
 */
export async function holdDuckDbFile(path: string): Promise<ChildProcess> {
  const script = `import('@duckdb/node-api').then(async ({ DuckDBInstance }) => {
    const instance = await DuckDBInstance.create(${JSON.stringify(path)});
    globalThis.held = { instance, connection: await instance.connect() };
    process.stdout.write('ready\\n');
    setInterval(() => {}, 1000);
  });`;
  const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => (d.toString().includes('ready') ? resolve() : undefined));
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
  return child;
}
