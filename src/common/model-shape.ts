/** "4 layers × 8 heads", and "1 layer × 1 head" for the smallest models. */
export function modelShape(layers: number, heads: number): string {
  return `${layers} ${layers === 1 ? 'layer' : 'layers'} × ${heads} ${heads === 1 ? 'head' : 'heads'}`;
}
