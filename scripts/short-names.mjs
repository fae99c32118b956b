// Shortens the import and export names wasm-bindgen gives the module (used by scripts/build.mjs).
//
// wasm-bindgen names every import `./<crate>_bg.js`.`__wbg_<name>_<16 hex digits>`, each
// snippet module by its full path, and each export after its Rust path (`sandboxcore_create`);
// each name is spelled in the wasm and again in the glue (an import object key, a `wasm.name`
// call), and the hex digits do not compress. Renaming both sides to short names (`w`.`0`,
// `s0`, …; exports `0`, `1`, …) saves about 4.5 KiB gzip and changes nothing else: the names are
// private to the package (only the glue instantiates the module and calls its exports). The
// sections are rewritten in place, with no optimiser involved (binaryen 108 renumbers the
// externref table of wasm-bindgen's output when it rewrites a whole module).

const IMPORT_SECTION = 2;
const EXPORT_SECTION = 7;

/** Reads an unsigned LEB128 at `pos`: `[value, next position]`. */
function readU32(bytes, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, pos];
    shift += 7;
  }
}

function u32(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return out;
}

const utf8 = new TextEncoder();
const text = new TextDecoder('utf-8', { fatal: true });
const name = (s) => {
  const bytes = utf8.encode(s);
  return [...u32(bytes.length), ...bytes];
};

/** Skips an import's descriptor (after its kind byte); returns the position past it. */
function skipDescriptor(bytes, pos, kind) {
  const limits = (p) => {
    const flags = bytes[p++];
    [, p] = readU32(bytes, p);
    if (flags & 1) [, p] = readU32(bytes, p);
    return p;
  };
  switch (kind) {
    case 0: return readU32(bytes, pos)[1]; // function: type index
    case 1: return limits(pos + 1); // table: reference type, limits
    case 2: return limits(pos); // memory: limits
    case 3: return pos + 2; // global: value type, mutability
    case 4: return readU32(bytes, pos + 1)[1]; // tag: attribute, type index
    default: throw new Error(`short-names: unknown import kind ${kind}`);
  }
}

/**
 * Renames the imports and exports of `wasm` (a Uint8Array) and the matching names in `glue`
 * (wasm-bindgen's unminified JS, where the instance's exports are `wasm`). `bgModule` is the
 * module name of wasm-bindgen's own imports, whose field names are renamed too; snippet modules
 * keep their field names (their exports). Every name must appear where expected in the glue,
 * or this throws: the build fails rather than ship a module that cannot be instantiated.
 */
export function shortenNames(wasm, glue, bgModule) {
  const out = [wasm.subarray(0, 8)];
  const modules = new Map();
  const fields = new Map();
  const exports = new Map();
  let pos = 8;
  while (pos < wasm.length) {
    const id = wasm[pos];
    const [size, start] = readU32(wasm, pos + 1);
    const end = start + size;
    if (id === EXPORT_SECTION) {
      let [count, p] = readU32(wasm, start);
      const body = [...u32(count)];
      for (; count > 0; count--) {
        let len;
        [len, p] = readU32(wasm, p);
        const exported = text.decode(wasm.subarray(p, (p += len)));
        // `memory` keeps its name: `initSync()` hands the exports out, and the memory test
        // and the benchmark read `memory` there.
        const short = exported === 'memory' ? exported : exports.size.toString(36);
        if (short !== exported) exports.set(exported, short);
        const descEnd = readU32(wasm, p + 1)[1]; // kind, index
        body.push(...name(short), ...wasm.subarray(p, descEnd));
        p = descEnd;
      }
      out.push(Uint8Array.from([EXPORT_SECTION, ...u32(body.length), ...body]));
      pos = end;
      continue;
    }
    if (id !== IMPORT_SECTION) {
      out.push(wasm.subarray(pos, end));
      pos = end;
      continue;
    }
    let [count, p] = readU32(wasm, start);
    const body = [...u32(count)];
    for (; count > 0; count--) {
      let moduleLen, fieldLen;
      [moduleLen, p] = readU32(wasm, p);
      const module = text.decode(wasm.subarray(p, (p += moduleLen)));
      [fieldLen, p] = readU32(wasm, p);
      const field = text.decode(wasm.subarray(p, (p += fieldLen)));
      const kind = wasm[p];
      const descEnd = skipDescriptor(wasm, p + 1, kind);
      if (!modules.has(module)) modules.set(module, module === bgModule ? 'w' : `s${modules.size}`);
      let short = field;
      if (module === bgModule) {
        if (!fields.has(field)) fields.set(field, fields.size.toString(36));
        short = fields.get(field);
      }
      body.push(...name(modules.get(module)), ...name(short), ...wasm.subarray(p, descEnd));
      p = descEnd;
    }
    out.push(Uint8Array.from([IMPORT_SECTION, ...u32(body.length), ...body]));
    pos = end;
  }

  const replaceOnce = (source, pattern, replacement, what) => {
    const hits = source.split(pattern).length - 1;
    if (hits !== 1) throw new Error(`short-names: ${what} found ${hits} times in the glue`);
    return source.replace(pattern, replacement);
  };
  for (const [field, short] of fields) {
    // The import object's keys are indented entries `    name: function(`, and nothing else
    // in the glue may name an import.
    if (glue.split(field).length !== 2) throw new Error(`short-names: ${field} named elsewhere in the glue`);
    glue = replaceOnce(glue, `\n        ${field}: function(`, `\n        ${JSON.stringify(short)}: function(`, `import ${field}`);
  }
  for (const [module, short] of modules) {
    const key = `\n        ${JSON.stringify(module)}: `;
    if (!glue.includes(key)) throw new Error(`short-names: import module ${module} not in the glue`);
    glue = glue.replaceAll(key, `\n        ${JSON.stringify(short)}: `);
  }
  for (const [exported, short] of exports) {
    // `wasm.name`, not followed by more of an identifier (`__wbindgen_export` vs `…export2`).
    // Some exports have no use in the glue (`__abort_handler`), but none may be reached
    // another way than `wasm.name`.
    const uses = new RegExp(`(?<![\\w$])wasm\\.${exported}(?![\\w$])`, 'g');
    const total = glue.split(new RegExp(`(?<![\\w$])${exported}(?![\\w$])`)).length - 1;
    const dotted = glue.split(uses).length - 1;
    if (dotted === 0 && total > 0) throw new Error(`short-names: export ${exported} used other than as wasm.${exported}`);
    glue = glue.replace(uses, `wasm[${JSON.stringify(short)}]`);
  }
  return { wasm: Buffer.concat(out), glue };
}
