function add(a, b) {
  return a + b;
}
exports.add = add;
module.exports.twice = function (x) {
  return add(x, x);
};
