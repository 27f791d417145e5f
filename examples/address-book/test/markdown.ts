// Reading fenced code blocks out of Markdown, for the tests that keep docs true to the code.

export interface Block {
  lang: string;
  attrs: Record<string, string | true>;
  code: string;
  line: number;
}

/** The fenced code blocks of a Markdown text, with their info strings parsed. */
export function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!);
    const attrs: Record<string, string | true> = {};
    for (const word of open[2]!.split(/\s+/).filter(Boolean)) {
      const eq = word.indexOf('=');
      if (eq === -1) attrs[word] = true;
      else attrs[word.slice(0, eq)] = word.slice(eq + 1);
    }
    blocks.push({ lang: open[1]!, attrs, code: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

/**
 * Checks that the lines of `expected` occur in `actual`, in order, each matching a whole line
 * (surrounding spaces ignored). `…` matches anything within a line; a line of only `…` or `// …`
 * stands for lines left out. Returns the first line not found, or null.
 */
export function missingLine(expected: string, actual: string): string | null {
  const have = actual.split('\n').map((l) => l.trim());
  let at = 0;
  for (const raw of expected.split('\n')) {
    const want = raw.trim();
    if (want === '' || want === '…' || want === '// …' || want === '-- …') continue;
    const pattern = new RegExp(`^${want.split('…').map(escapeRegExp).join('.*')}$`);
    const found = have.findIndex((l, i) => i >= at && pattern.test(l));
    if (found === -1) return raw;
    at = found + 1;
  }
  return null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
