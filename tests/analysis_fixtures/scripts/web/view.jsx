import { add } from "./cjs/util";

export default function Page(props) {
  const total = add(props.a, props.b);
  function inner() {
    return <span>{total}</span>;
  }
  return <div title={label(total)}>{inner()}</div>;
}

function label(n) {
  return `total ${n}`;
}
