// calls: (none)
export interface Shape {
  area(): number;
}

export class Base {
  constructor(public name: string) {}
  describe(): string {
    return this.name;
  }
  log(): void {}
}

export default function helper(x: number): number {
  return x * 2;
}
