import cliProgress from 'cli-progress';

/** A progress bar on stderr, shown only on a terminal and never in `--json` mode. */
export interface Progress {
  update(label: string, done: number, total: number): void;
  stop(): void;
}

export function progressBar(json: boolean | undefined): Progress {
  if (json || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{label} [{bar}] {value}/{total} ({eta_formatted} left)',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let current = '';
  return {
    update(label, done, total) {
      if (!started || label !== current) {
        if (started) bar.stop();
        bar.start(Math.max(total, 1), done, { label });
        started = true;
        current = label;
      } else {
        bar.setTotal(Math.max(total, 1));
        bar.update(done);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
