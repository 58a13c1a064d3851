/** The Raft core must stay pure: no I/O, clock or randomness of its own. */
import assert from "node:assert/strict";

const FORBIDDEN = [
  /\bDeno\./,
  /\bfetch\(/,
  /\bsetTimeout\b/,
  /\bsetInterval\b/,
  /\bDate\.now\b/,
  /\bnew Date\b/,
  /\bMath\.random\b/,
  /\bperformance\.now\b/,
  /\bcrypto\./,
];

Deno.test("replica/raft imports only its own modules and the protocol types, and touches no I/O", async () => {
  const dir = new URL(".", import.meta.url);
  let files = 0;
  for await (const f of Deno.readDir(dir)) {
    if (!f.isFile || !f.name.endsWith(".ts") || f.name.endsWith("_test.ts")) continue;
    files++;
    const src = await Deno.readTextFile(new URL(f.name, dir));
    for (const m of src.matchAll(/\bfrom\s+"([^"]+)"/g)) {
      const spec = m[1];
      const ok = spec.startsWith("./") || spec === "../../protocol/mod.ts";
      assert.ok(ok, `${f.name} imports ${spec}`);
    }
    assert.ok(!/\bimport\(/.test(src), `${f.name} has a dynamic import`);
    for (const re of FORBIDDEN) assert.ok(!re.test(src), `${f.name} uses ${re}`);
  }
  assert.ok(files >= 4, `only ${files} files checked`);
});
