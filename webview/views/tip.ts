/**
 * Places a view's tooltip beside the pointer inside its scrolling box: below-right of it, or
 * above/left where that would run past the box's visible edge (the box clips what overflows).
 */
export function placeTip(tip: HTMLElement, box: HTMLElement, e: MouseEvent): void {
  const rect = box.getBoundingClientRect();
  const x = e.clientX - rect.left;
  const y = e.clientY - rect.top;
  const below = y + 12 + tip.offsetHeight <= box.clientHeight;
  const right = x + 12 + tip.offsetWidth <= box.clientWidth;
  tip.style.left = `${box.scrollLeft + (right ? x + 12 : Math.max(0, x - 12 - tip.offsetWidth))}px`;
  tip.style.top = `${box.scrollTop + (below ? y + 12 : Math.max(0, y - 12 - tip.offsetHeight))}px`;
}
