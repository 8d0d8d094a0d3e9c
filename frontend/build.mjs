// Bundle the panel (Lit included) into the one module the integration serves:
// custom_components/roomdb/panel/frontend/roomdb-panel.js. Run `npm ci && npm run build` here
// (scripts/build_frontend does both). The first line records the SHA-256 of the sources, so a test
// notices a source change that was not rebuilt without needing node.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const here = new URL(".", import.meta.url);
const out = new URL("../custom_components/roomdb/panel/frontend/roomdb-panel.js", here);

export function sourceDigest() {
  const hash = createHash("sha256");
  for (const name of readdirSync(new URL("src/", here)).sort()) {
    hash.update(name);
    hash.update(readFileSync(new URL(`src/${name}`, here)));
  }
  hash.update(readFileSync(new URL("package-lock.json", here)));
  return hash.digest("hex");
}

const result = await build({
  entryPoints: [new URL("src/roomdb-panel.js", here).pathname],
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2022",
  legalComments: "eof",
  write: false,
});
const header = `// RoomDB panel, built by frontend/build.mjs from sources sha256:${sourceDigest()}\n`;
writeFileSync(out, header + result.outputFiles[0].text);
console.log(`wrote ${out.pathname}`);
