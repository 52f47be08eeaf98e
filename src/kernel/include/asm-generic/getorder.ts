/** get_order() (include/asm-generic/getorder.h): the smallest order whose block holds `size` bytes. */
import { PAGE_SIZE } from '../../../hw/address.ts';

export function get_order(size: number): number {
  let order = 0;
  while (PAGE_SIZE * 2 ** order < size) order++;
  return order;
}
