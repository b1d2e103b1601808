// ESLint (flat config): the browser ES modules under static/ and the Node unit
// tests under tests/js/. Run by `make test` (npx eslint static tests/js).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["static/vendor/**", "staticfiles/**", "node_modules/**"] },
  js.configs.recommended,
  {
    files: ["static/**/*.js"],
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: { ...globals.browser } },
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      eqeqeq: ["error", "smart"],
      "no-var": "error",
      "prefer-const": "error",
      // Every URL reaches a page from the server (reverse() → json_script or a data- attribute).
      "no-restricted-syntax": [
        "error",
        {
          selector: "Literal[value=/^\\/(review|cases|lead|catalog|api|ws|admin|static)\\//]",
          message: "URLs come from the server (reverse() into json_script), not from the script.",
        },
        {
          selector: "TemplateElement[value.raw=/^\\/(review|cases|lead|catalog|api|ws|admin|static)\\//]",
          message: "URLs come from the server (reverse() into json_script), not from the script.",
        },
      ],
    },
  },
  {
    files: ["tests/js/**/*.mjs", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: { ...globals.node } },
  },
];
