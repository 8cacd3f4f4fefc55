/**
 * The class every process of the demo shares. Registering it in the `types`
 * option on both ends is all hopwire needs to rebuild real instances —
 * methods, nested `Date` and `Map` included.
 */
export class Widget {
  constructor(
    public name = '',
    public price = 0,
    public made: Date = new Date(0),
    public parts: Map<string, number> = new Map<string, number>(),
  ) {}

  /** What `n` of these cost. */
  total(n: number): number {
    return n * this.price;
  }

  /** One readable line. */
  describe(): string {
    const parts = [...this.parts].map(([part, count]) => `${part}×${count}`).join(', ');
    return `Widget(${this.name}, price ${this.price}, made ${this.made.toISOString().slice(0, 10)}, parts: ${parts})`;
  }
}
