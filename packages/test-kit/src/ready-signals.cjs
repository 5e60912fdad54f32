// Preloaded into a service's process by a test (`node --require <this file>`). When the process first writes a chunk
// that matches X402_READY_LINE (a regular expression), to stdout or stderr, it writes on stderr whether its SIGINT
// and SIGTERM handlers were set by then: `x402-ready-signals: SIGINT=<n> SIGTERM=<n>`, the listener counts. A process
// that says it is ready before it listens for a stop is killed outright by a signal sent as soon as the line is read.
'use strict';
const pattern = new RegExp(process.env.X402_READY_LINE || '$^');
const writeStderr = process.stderr.write.bind(process.stderr);
let told = false;
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    if (!told && pattern.test(String(chunk))) {
      told = true;
      const counts = `SIGINT=${process.listenerCount('SIGINT')} SIGTERM=${process.listenerCount('SIGTERM')}`;
      writeStderr(`x402-ready-signals: ${counts}\n`);
    }
    return write(chunk, ...rest);
  };
}
