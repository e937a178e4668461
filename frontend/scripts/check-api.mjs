// Fails when src/api/schema.d.ts is not what openapi-typescript makes of src/api/openapi.json
// (the server's schema, written by `vocalis openapi`): run `npm run gen:api` after changing it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const fresh = join(mkdtempSync(join(tmpdir(), "vocalis-api-")), "schema.d.ts");
execFileSync("npx", ["openapi-typescript", "src/api/openapi.json", "-o", fresh], { stdio: "ignore" });
if (readFileSync(fresh, "utf8") !== readFileSync("src/api/schema.d.ts", "utf8")) {
  console.error("src/api/schema.d.ts is stale: run `npm run gen:api`");
  process.exit(1);
}
console.log("src/api/schema.d.ts matches src/api/openapi.json");
