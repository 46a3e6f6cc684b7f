import { Base, Shape } from "./base";

export function square(x: number): number {
  return x * x;
}

export class Circle extends Base implements Shape {
  constructor(private r: number) {
    super("circle");
  }
  area(): number {
    return square(this.r) * 3.14;
  }
  describe(): string {
    this.log();
    return super.describe() + "!";
  }
}
