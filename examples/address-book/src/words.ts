/**
 * A count with its noun, singular for one: `count(1, 'version')` is "1 version",
 * `count(3, 'person', 'people')` is "3 people".
 */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
