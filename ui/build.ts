/**
 * Bundles the page with esbuild. Bare imports (preact, @preact/signals) are
 * resolved from Deno's own npm cache, where `deno info` says each package of
 * the page's import graph lives (one folder per package, so preact is bundled
 * once). No node_modules folder anywhere.
 */
import * as esbuild from "esbuild";

const UI_DIR = new URL(".", import.meta.url).pathname;
const DIST = `${UI_DIR}dist`;
const ENTRIES = {
  app: `${UI_DIR}src/main.tsx`,
  perf: `${UI_DIR}src/perf.ts`,
  dashboard: `${UI_DIR}src/dashboard/main.tsx`,
};

/** `deno info --json` for the entry points: name -> folder of every npm package in the graph. */
async function npmPackageDirs(): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const entry of Object.values(ENTRIES)) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`deno info ${entry} failed`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    for (
      const pkg of Object.values(info.npmPackages ?? {}) as { name: string; localPath?: string }[]
    ) {
      if (!pkg.localPath) throw new Error(`npm package ${pkg.name} is not in Deno's cache`);
      dirs.set(pkg.name, pkg.localPath);
    }
  }
  return dirs;
}

/** Picks the target of an `exports` (or `browser`/`module`) entry for a browser ESM bundle. */
function pickTarget(entry: unknown): string | null {
  if (typeof entry === "string") return entry;
  if (entry === null || typeof entry !== "object") return null;
  const conditions = entry as Record<string, unknown>;
  for (const c of ["browser", "import", "module", "default"]) {
    const t = c in conditions ? pickTarget(conditions[c]) : null;
    if (t) return t;
  }
  return null;
}

/** Resolves `name[/sub]` inside the package folder `dir` the way its package.json says. */
async function resolveInPackage(dir: string, sub: string): Promise<string> {
  const pkg = JSON.parse(await Deno.readTextFile(`${dir}/package.json`));
  if (pkg.exports) {
    // `exports` is either a map of subpaths ("./hooks") or what "." alone exports.
    const isSubpathMap = typeof pkg.exports === "object" &&
      Object.keys(pkg.exports).every((k) => k.startsWith("."));
    const map = isSubpathMap ? pkg.exports : { ".": pkg.exports };
    const target = pickTarget(map[sub ? `./${sub}` : "."]);
    if (!target) throw new Error(`${pkg.name} does not export "${sub || "."}"`);
    return `${dir}/${target}`;
  }
  return `${dir}/${sub || pkg.module || pkg.main || "index.js"}`;
}

/** esbuild plugin: bare imports of packages in the Deno npm cache. */
function denoNpmCache(dirs: Map<string, string>): esbuild.Plugin {
  return {
    name: "deno-npm-cache",
    setup(build) {
      build.onResolve({ filter: /^[@a-z]/ }, async (args) => {
        const parts = args.path.split("/");
        const nameLength = args.path.startsWith("@") ? 2 : 1;
        const dir = dirs.get(parts.slice(0, nameLength).join("/"));
        if (!dir) return undefined;
        return { path: await resolveInPackage(dir, parts.slice(nameLength).join("/")) };
      });
    },
  };
}

async function build(): Promise<void> {
  const dirs = await npmPackageDirs();
  const result = await esbuild.build({
    entryPoints: ENTRIES,
    outdir: DIST,
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    jsx: "automatic",
    jsxImportSource: "preact",
    plugins: [denoNpmCache(dirs)],
    minify: true,
    sourcemap: "linked",
    logLevel: "warning",
  });
  await esbuild.stop();
  if (result.errors.length > 0) throw new Error("esbuild reported errors");
  console.log(`ui: built ${Object.keys(ENTRIES).map((n) => `dist/${n}.js`).join(", ")}`);
}

try {
  await build();
} catch (err) {
  console.error(`ui:build: ${(err as Error).message.split("\n")[0]}`);
  await esbuild.stop();
  Deno.exit(1);
}
