/**
 * How a worker thread loads the module that defines a machine. Compiled JavaScript imports as
 * is; a TypeScript module (the app runs under tsx, or the tests run from sources) is imported
 * after registering tsx's loader in this thread, once. Each module is imported once per thread.
 * Only modules named by the runtime's own spawn requests are ever imported — never a path that
 * arrived inside an actor message.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MachineLoadError } from './errors.js';

const loaded = new Map<string, Promise<void>>();
let tsxReady: Promise<void> | null = null;

export function isTypeScript(url: string): boolean {
  return /\.[cm]?tsx?$/.test(url);
}

/** Registers tsx's ESM loader in this thread (Node 20 workers do not inherit loaders). */
export function registerTypeScript(): Promise<void> {
  tsxReady ??= (async () => {
    let api: { register: () => unknown };
    try {
      api = (await import('tsx/esm/api')) as { register: () => unknown };
    } catch {
      // Not resolvable from threadstate itself: try from the application's directory.
      const fromApp = createRequire(pathToFileURL(`${process.cwd()}/`).href).resolve('tsx/esm/api');
      api = (await import(pathToFileURL(fromApp).href)) as { register: () => unknown };
    }
    api.register();
  })();
  return tsxReady;
}

export function loadModule(url: string): Promise<void> {
  let p = loaded.get(url);
  if (p === undefined) {
    p = (async () => {
      if (isTypeScript(url)) {
        try {
          await registerTypeScript();
        } catch (err) {
          throw new MachineLoadError(url, `it is TypeScript and the tsx loader is not installed (npm i -D tsx), or compile it to JavaScript (${describe(err)})`);
        }
      }
      try {
        await import(url);
      } catch (err) {
        throw new MachineLoadError(url, describe(err));
      }
    })();
    loaded.set(url, p);
    p.catch(() => loaded.delete(url)); // a failed import may be retried later
  }
  return p;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
