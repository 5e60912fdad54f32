// Preloaded into a service's process by a test (`node --require <this file>`). When the process writes the first chunk
// that matches X402_READY_LINE (a regular expression, with the flags in X402_READY_FLAGS) to stdout or stderr, it
// sends itself SIGTERM at once, before the code after that write runs: as a supervisor that signals as soon as it
// reads the line, at the worst moment. A process that listens for the signal only after saying it is ready is killed
// outright by it; one that listened first stops as it would on any SIGTERM.
'use strict';
const pattern = new RegExp(process.env.X402_READY_LINE || '$^', process.env.X402_READY_FLAGS);
let sent = false;
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    const written = write(chunk, ...rest);
    if (!sent && pattern.test(String(chunk))) {
      sent = true;
      process.kill(process.pid, 'SIGTERM');
    }
    return written;
  };
}
