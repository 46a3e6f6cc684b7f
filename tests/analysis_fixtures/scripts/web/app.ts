import { Circle, helper, geometry } from "./lib";
import * as base from "./lib/base";
import React, { useState } from "react";

function main(): number {
  function local(): number {
    return helper(2);
  }
  const c = new Circle(2);
  c.describe();
  const sq = geometry.square(3);
  base.default(1);
  useState(0);
  React.createElement("div");
  unknownThing();
  return local() + c.area() + sq;
}

export class App {
  run(): void {
    main();
    this.start();
  }
  start(): void {
    new base.Base("x").describe();
  }
}
