/**
 * Text helpers of the details panel: dotted ids that wrap at their dots, and docstrings read as
 * plain text. Everything here produces text or text nodes — docstrings and ids are untrusted, so
 * nothing is ever parsed as markup.
 */

/**
 * `text` as text nodes with a `<wbr>` after every `.` and `/`: a long
 * `pkg.module.Class.method` or `pkg/sub/mod.py` wraps between its parts, not inside a name.
 * The text content is unchanged (`<wbr>` has none), so copying the id copies the id.
 */
export function breakableText(doc: Document, text: string): DocumentFragment {
  const fragment = doc.createDocumentFragment();
  // Split after separators, keeping them with the part they end.
  const parts = text.split(/(?<=[./])/);
  parts.forEach((part, i) => {
    if (i > 0) fragment.append(doc.createElement("wbr"));
    fragment.append(doc.createTextNode(part));
  });
  return fragment;
}

/** Directives whose line says nothing to a reader (the block under them stays). */
const CODE_DIRECTIVES = new Set(["code", "code-block", "sourcecode", "highlight", "doctest", "testcode", "literalinclude"]);

/** A field list item at the start of a line: `:name:` or `:name arg words:`. */
const FIELD = /^(\s*):([a-zA-Z]+)((?:\s+[^:`]+)?):(?=\s|$)/;

/** Characters reStructuredText allows in section under- and overlines. */
const ADORNMENT = /^\s*([=\-~^"'`#*+:_<>])\1{2,}\s*$/;

/** `:param int x:` and friends: field lists of Sphinx docstrings, as readable text. */
function field(name: string, arg: string): string {
  const words = arg.trim().split(/\s+/).filter(Boolean);
  const last = words[words.length - 1] ?? "";
  const type = words.slice(0, -1).join(" ");
  switch (name) {
    case "param":
    case "parameter":
    case "arg":
    case "argument":
    case "key":
    case "keyword":
      return type ? `${last} (${type}):` : `${last}:`;
    case "type":
      return `${last} type:`;
    case "returns":
    case "return":
      return "Returns:";
    case "rtype":
      return "Return type:";
    case "raises":
    case "raise":
    case "except":
    case "exception":
      return arg.trim() ? `Raises ${arg.trim()}:` : "Raises:";
    case "yields":
    case "yield":
      return "Yields:";
    case "ivar":
    case "var":
    case "cvar":
      return `${last}:`;
    default: {
      const title = name.charAt(0).toUpperCase() + name.slice(1);
      return arg.trim() ? `${title} ${arg.trim()}:` : `${title}:`;
    }
  }
}

/** Inline markup of one line: roles, literals, interpreted text, emphasis. */
function inline(line: string): string {
  return (
    line
      // :class:`Foo`, :func:`~pkg.mod.bar` (a tilde shows the last component only), :ref:`t <x>`.
      .replace(/:[a-zA-Z][\w:.+-]*:`([^`]+)`/g, (_m, body: string) => {
        const titled = /^(.*?)\s*<[^>]+>$/.exec(body);
        if (titled && titled[1]) return titled[1];
        const target = body.replace(/^[!]/, "");
        return target.startsWith("~") ? (target.slice(1).split(".").pop() ?? target) : target;
      })
      // ``literal`` and `interpreted text` (and `link <url>`_ references).
      .replace(/``(.+?)``/g, "$1")
      .replace(/`([^`]+?)\s*<[^>]+>`_{1,2}/g, "$1")
      .replace(/`([^`]+)`_{0,2}/g, "$1")
      // **strong** and *emphasis*, not a lone `*` (e.g. `*args`).
      .replace(/\*\*(\S(?:.*?\S)?)\*\*/g, "$1")
      .replace(/(^|[\s(])\*(\S(?:[^*]*?\S)?)\*(?=$|[\s).,;:!?])/g, "$1$2")
  );
}

/**
 * A docstring as plain text: indentation of the continuation lines removed (like Python's
 * `inspect.cleandoc`), reStructuredText section adornments (`=====`, `-----` lines) dropped,
 * field lists (`:param x:`, `:returns:`, `:raises E:`) spelled out, roles (`:class:\`X\``),
 * ``literals`` and emphasis reduced to their text, directives (`.. note::`) turned into a
 * heading, and runs of blank lines collapsed. Line breaks are kept (the panel shows them).
 */
export function plainDocstring(raw: string): string {
  const lines = raw.replace(/\r\n?/g, "\n").replace(/\t/g, "    ").split("\n");
  // cleandoc: the first line's own indentation does not count.
  let indent = Infinity;
  for (const line of lines.slice(1)) {
    const stripped = line.trimStart();
    if (stripped) indent = Math.min(indent, line.length - stripped.length);
  }
  const dedented = lines.map((line, i) => (i === 0 ? line.trim() : indent === Infinity ? line.trim() : line.slice(indent).trimEnd()));
  const out: string[] = [];
  for (const line of dedented) {
    if (ADORNMENT.test(line)) continue;
    let text = line;
    const directive = /^(\s*)\.\.\s+([\w-]+)::\s*(.*)$/.exec(text);
    if (directive) {
      const [, lead = "", name = "", rest = ""] = directive;
      // A code block's directive line is noise; an admonition keeps its word as a heading.
      if (CODE_DIRECTIVES.has(name)) continue;
      text = `${lead}${name.charAt(0).toUpperCase()}${name.slice(1).replace(/-/g, " ")}:${rest ? ` ${rest}` : ""}`;
    } else {
      text = text.replace(FIELD, (_m, lead: string, name: string, arg: string) => `${lead}${field(name.toLowerCase(), arg)}`);
    }
    text = inline(text);
    // A paragraph ending in `::` introduces a literal block: one colon reads right.
    if (/^\s*::\s*$/.test(text)) continue;
    text = text.replace(/(\S)\s*::$/, "$1:");
    out.push(text);
  }
  return out
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
