/**
 * A connection string fit to print: the password, if any, replaced by `***`.
 *
 * @example
 * redactUrl('postgres://app:s3cret@db:5432/app'); // 'postgres://app:***@db:5432/app'
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable url)';
  }
}
