const util = require("./util");
const { add } = require("./util.js");
const path = require("path");

class Counter {
  constructor() {
    this.n = 0;
  }
  inc() {
    this.n = add(this.n, 1);
  }
}

function run() {
  const k = new Counter();
  k.inc();
  util.twice(2);
  path.join("a", "b");
}

module.exports = { run, Counter };
