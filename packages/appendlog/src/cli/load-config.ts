import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidInputError } from '../errors.js';
import type { TableDef } from '../schema/table.js';

/** Config files looked for, in order, when `--config` is not given. */
export const DEFAULT_CONFIGS = ['appendlog.config.ts', 'appendlog.config.mjs', 'appendlog.config.js'];

const TS = new Set(['.ts', '.mts', '.cts']);
const JS = new Set(['.js', '.mjs', '.cjs']);

interface TsxApi {
  tsImport(specifier: string, parentURL: string): Promise<Record<string, unknown>>;
}

/**
 * Loads the tables a config file exports: `export default [addresses, …]`,
 * `export const tables = […]` or `export default { tables: […] }`. JavaScript configs load
 * natively; TypeScript configs through tsx's API when tsx is installed (`npm i -D tsx`).
 */
export async function loadTablesFromConfig(
  file: string | undefined,
  cwd = process.cwd(),
): Promise<TableDef[]> {
  const path =
    file === undefined
      ? DEFAULT_CONFIGS.map((f) => resolve(cwd, f)).find((p) => existsSync(p))
      : resolve(cwd, file);
  if (path === undefined) {
    throw new InvalidInputError(
      `no config file: pass --config, or create one of ${DEFAULT_CONFIGS.join(', ')}`,
      'config',
    );
  }
  if (!existsSync(path)) throw new InvalidInputError(`config file ${path} does not exist`, 'config');
  const ext = extname(path);
  let mod: Record<string, unknown>;
  if (TS.has(ext)) {
    const tsx = await loadTsx(path);
    mod = await tsx.tsImport(pathToFileURL(path).href, import.meta.url);
  } else if (JS.has(ext)) {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } else {
    throw new InvalidInputError(`config file ${path} must be .ts, .mts, .js or .mjs`, 'config');
  }
  return tablesOf(mod, path);
}

async function loadTsx(configPath: string): Promise<TsxApi> {
  const specifier = 'tsx/esm/api';
  const attempts: Array<() => Promise<unknown>> = [
    () => import(specifier),
    // tsx installed in the project of the config rather than beside appendlog.
    () => import(pathToFileURL(createRequire(configPath).resolve(specifier)).href),
  ];
  for (const attempt of attempts) {
    try {
      const api = (await attempt()) as Partial<TsxApi>;
      if (typeof api.tsImport === 'function') return api as TsxApi;
    } catch {
      // try the next place
    }
  }
  throw new InvalidInputError(
    `loading the TypeScript config ${configPath} needs tsx: run \`npm install -D tsx\`, or write the config as .mjs`,
    'config',
  );
}

function tablesOf(mod: Record<string, unknown>, path: string): TableDef[] {
  const fromDefault = mod.default;
  const candidate =
    mod.tables ??
    (Array.isArray(fromDefault) ? fromDefault : (fromDefault as { tables?: unknown } | undefined)?.tables);
  if (!Array.isArray(candidate)) {
    throw new InvalidInputError(
      `config ${path} must export its tables: \`export default [addresses]\` or \`export const tables = [addresses]\``,
      'config',
    );
  }
  for (const t of candidate as unknown[]) {
    const def = t as Partial<TableDef> | null;
    if (!def || typeof def.name !== 'string' || !Array.isArray(def.columns)) {
      throw new InvalidInputError(
        `config ${path} exports something that is not a table() definition`,
        'config',
      );
    }
  }
  return candidate as TableDef[];
}
