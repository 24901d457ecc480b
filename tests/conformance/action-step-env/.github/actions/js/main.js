const fs = require('fs');
const seen = `${process.env.INPUT_GREETING} ${process.env.STEP_VALUE}`;
console.log(`node action sees ${seen}`);
fs.appendFileSync(process.env.GITHUB_OUTPUT, `seen=${seen}\n`);
