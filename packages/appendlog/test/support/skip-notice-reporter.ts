// One loud notice at the very end of a run when a part of the suite could not run here: the
// PostgreSQL suites (no DATABASE_URL), the browser tests (no Chromium) or the Citus tests (no
// Citus). Suites tag their tests `[postgres]`, `[browser]` and `[citus]`; a skipped browser or
// Citus suite names its reason in brackets.
// .ci/run fails on any of these skips (on Citus when it finds its source); a plain `npm test`
// passes and says so here, once.
import type { Reporter, TestModule, Vitest } from 'vitest/node';

/** The lines to print for what was skipped, or none. */
export function skipNotice(modules: readonly TestModule[], databaseUrl: string | undefined): string[] {
  let postgres = 0;
  let browser = 0;
  let citus = 0;
  const reasons = new Set<string>();
  const citusReasons = new Set<string>();
  for (const module of modules) {
    for (const test of module.children.allTests()) {
      if (test.result().state !== 'skipped') continue;
      if (test.fullName.includes('[postgres]')) postgres++;
      if (test.fullName.includes('[citus]')) {
        citus++;
        const reason = /\(skipped: ([^)]*)\)/.exec(test.fullName)?.[1];
        if (reason) citusReasons.add(reason);
      }
      if (test.fullName.includes('[browser]')) {
        browser++;
        const reason = /\(skipped: ([^)]*)\)/.exec(test.fullName)?.[1];
        if (reason) reasons.add(reason);
      }
    }
  }
  const lines: string[] = [];
  if (!databaseUrl) {
    lines.push(
      'PostgreSQL tests SKIPPED: DATABASE_URL is not set, so only PGlite was tested.',
      '  Point DATABASE_URL at an empty PostgreSQL database to run them too (bash .ci/run does).',
    );
  } else if (postgres > 0) {
    lines.push(`PostgreSQL: ${postgres} tests SKIPPED (their files say why above).`);
  }
  if (browser > 0) {
    lines.push(
      `Browser tests SKIPPED: ${browser} tests${reasons.size > 0 ? `: ${[...reasons].join('; ')}` : ''}.`,
    );
  }
  if (citus > 0) {
    lines.push(
      `Citus tests SKIPPED: ${citus} tests${citusReasons.size > 0 ? `: ${[...citusReasons].join('; ')}` : ''}.`,
    );
  }
  return lines;
}

export default class SkipNoticeReporter implements Reporter {
  #vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.#vitest = vitest;
  }

  onTestRunEnd(modules: readonly TestModule[]): void {
    const lines = skipNotice(modules, process.env.DATABASE_URL);
    if (lines.length === 0) return;
    const bar = '*'.repeat(78);
    const text = ['', bar, ...lines.map((l) => `*** ${l}`), bar, ''].join('\n');
    if (this.#vitest) this.#vitest.logger.log(text);
    else console.log(text);
  }
}
