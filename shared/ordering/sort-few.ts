/**
 * Sorts `items` ascending in place and returns them: numbers by value, text by UTF-16 code unit (the order `sort()`
 * gives text). Most calls sort a few items (an account's versions in a batch, an image's attribute names), and for
 * those insertion sort allocates nothing, where `Array.prototype.sort` with a comparator allocated more than the rest
 * of a typical account run's sorting (see the README, *Where the time goes*).
 */
export function sortFew<T extends number | string>(items: T[]): T[] {
  if (items.length > 16) return typeof items[0] === 'number' ? items.sort(byValue) : items.sort();
  for (let index = 1; index < items.length; index += 1) {
    const item = items[index] as T;
    let at = index - 1;
    while (at >= 0 && (items[at] as T) > item) {
      items[at + 1] = items[at] as T;
      at -= 1;
    }
    items[at + 1] = item;
  }
  return items;
}

const byValue = (a: number | string, b: number | string): number => (a as number) - (b as number);
