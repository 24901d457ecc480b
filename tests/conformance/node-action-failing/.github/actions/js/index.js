console.log("::error::node action failed on purpose");
process.exitCode = 1;
