// Builds partnerwell/static/dist: the compiled stylesheet and the browser scripts we serve.
import { compile } from "sass";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";

const dist = "partnerwell/static/dist";
mkdirSync(dist, { recursive: true });

const css = compile("partnerwell/static/scss/app.scss", {
  loadPaths: ["node_modules"],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import", "global-builtin", "mixed-decls"],
});
writeFileSync(`${dist}/app.css`, css.css);

const copies = {
  "node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js": "govuk-frontend.min.js",
  "node_modules/htmx.org/dist/htmx.min.js": "htmx.min.js",
};
for (const [from, to] of Object.entries(copies)) copyFileSync(from, `${dist}/${to}`);
console.log(`built ${dist}`);
