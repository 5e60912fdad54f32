// Preloaded into a service's process by a test (`node --require <this file>`). When the process writes the first chunk
// that matches X402_READY_LINE (a regular expression, with the flags in X402_READY_FLAGS) to stdout or stderr, it
// sends itself SIGTERM at once, from inside that write: as a supervisor that signals as soon as it reads the line, at
// the worst moment. A process that has no SIGTERM listener yet is killed outright by it (the default action, taken
// before the code after that write can run); one that listened first stops as it would on any SIGTERM. It writes
// `x402-ready-signals: SIGTERM sent` on stderr first.
'use strict';
const MARK = 'x402-ready-signals: SIGTERM sent';
// Without g and y: a stateful pattern could skip the line.
const flags = (process.env.X402_READY_FLAGS || '').replace(/[gy]/g, '');
const pattern = new RegExp(process.env.X402_READY_LINE || '$^', flags);
const writeStderr = process.stderr.write.bind(process.stderr);
let sent = false;
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    const written = write(chunk, ...rest);
    if (!sent && pattern.test(String(chunk))) {
      sent = true;
      // Said before it is sent, so the test knows the signal, not something else, ended the process.
      writeStderr(`${MARK}\n`);
      process.kill(process.pid, 'SIGTERM');
    }
    return written;
  };
}
