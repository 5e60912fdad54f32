/**
 * Per-turn grouping: the calls made during one event-loop turn, run together once that turn's I/O is read
 * (`setImmediate`). On PostgreSQL every statement is a round trip whose socket write and wake-up of the server cost
 * the facilitator more CPU than the query; under load, the same statement asked by many requests in one turn (the
 * replay reads of verify, the status round's updates) can go as one. A call made alone runs alone, a turn later.
 * @module
 */

/** Past this many calls a turn, the rest go in another group: the statements' arrays stay small. */
const MAX_GROUP = 256;

/**
 * Wraps `run`, which answers a group of inputs in their order (one answer each), into a call for one input. When a
 * group's statement fails (one statement: nothing of it applied), each of its inputs runs again alone, so a call fails
 * only for its own input, as it would have alone.
 * @example
 * ```ts
 * const read = groupPerTurn((ids: string[]) => readMany(ids));
 * const one = await read('0xabc');
 * ```
 */
export function groupPerTurn<In, Out>(
  run: (inputs: readonly In[]) => Promise<readonly Out[]>,
): (input: In) => Promise<Out> {
  type Waiting = { input: In; resolve(out: Out): void; reject(error: unknown): void };
  let waiting: Waiting[] = [];

  async function runGroup(group: readonly Waiting[]) {
    let answers: readonly Out[];
    try {
      answers = await run(group.map((call) => call.input));
    } catch (error) {
      if (group.length === 1) group[0]!.reject(error);
      else for (const call of group) void runGroup([call]);
      return;
    }
    for (const [index, call] of group.entries()) call.resolve(answers[index]!);
  }

  function flush() {
    const group = waiting;
    waiting = [];
    for (let start = 0; start < group.length; start += MAX_GROUP)
      void runGroup(group.slice(start, start + MAX_GROUP));
  }

  return (input) =>
    new Promise<Out>((resolve, reject) => {
      if (waiting.length === 0) setImmediate(flush);
      waiting.push({ input, resolve, reject });
    });
}
