import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The library's layers (docs/architecture.md, "Layers"), lowest first. A file may import from
// its own layer and the ones below, never above, and the imports (types included) form no cycle.
const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'version.ts', 'redact-url.ts'],
  ['schema/column.ts', 'schema/names.ts', 'model/'],
  ['schema/table.ts', 'hash/'],
  ['sql/', 'driver/'],
  ['session.ts'],
  ['api/', 'erasure/', 'integrity/', 'export/', 'migrate/', 'codegen/', 'realtime/'],
  ['db.ts', 'index.ts'],
  ['cli/'],
];

const src = normalize(join(dirname(fileURLToPath(import.meta.url)), '../src'));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function layerOf(file: string): number {
  const rel = relative(src, file);
  const layer = LAYERS.findIndex((l) => l.some((p) => (p.endsWith('/') ? rel.startsWith(p) : rel === p)));
  if (layer < 0) throw new Error(`${rel} is in no layer: add it to LAYERS and docs/architecture.md`);
  return layer;
}

/** Every relative import and re-export of `file`, type-only ones included, as source paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'/gms)].map((m) =>
    normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts'))),
  );
}

describe('the library’s structure', () => {
  const all = files(src);
  const graph = new Map(all.map((f) => [f, importsOf(f)]));

  it('every file belongs to a layer and imports nothing from a layer above its own', () => {
    const upward: string[] = [];
    for (const [file, deps] of graph) {
      for (const dep of deps) {
        if (layerOf(dep) > layerOf(file)) upward.push(`${relative(src, file)} imports ${relative(src, dep)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('the imports form no cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(src, p)).join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const d of graph.get(f) ?? []) visit(d, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of all) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('the checker sees imports: db.ts imports features, features import session.ts', () => {
    const rel = (f: string) => relative(src, f);
    expect(graph.get(join(src, 'db.ts'))!.map(rel)).toContain('api/table.ts');
    expect(graph.get(join(src, 'api/table.ts'))!.map(rel)).toContain('session.ts');
  });
});
