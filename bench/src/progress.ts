/** Progress of a long run, on stderr so that stdout keeps only the report. */
export function progress(msg: string): void {
  process.stderr.write(`${msg}\n`);
}
