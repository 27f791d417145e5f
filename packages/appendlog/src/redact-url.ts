/**
 * A connection string fit to print: the password, if any, replaced by `***`. Text that is not a
 * URL is printed as given, a `user:password@` in it masked the same way.
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
    return url.replace(/^([^:/@\s]*:\/\/[^:/@\s]*:)[^@]*@/, '$1***@');
  }
}
