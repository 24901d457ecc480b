console.log(`post ran state=${process.env.STATE_saved}`);
