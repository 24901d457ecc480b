const fs = require("fs");
const who = process.env.INPUT_WHO;
console.log(`main ran for ${who} mixed=${process.env["INPUT_MIXED_NAME"]}`);
fs.appendFileSync(process.env.GITHUB_OUTPUT, `greeting=hi ${who}\n`);
fs.appendFileSync(process.env.GITHUB_STATE, "saved=from-main\n");
