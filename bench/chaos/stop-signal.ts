/** The end of the load phase, shared by buyers, attackers and faults: each checks it between steps. */
export type StopSignal = {
  readonly stopped: boolean;
  stop(): void;
  /** Sleeps `ms`, or less when the signal fires meanwhile. */
  sleep(ms: number): Promise<void>;
};

export function stopSignal(): StopSignal {
  let stopped = false;
  const sleepers = new Set<() => void>();
  return {
    get stopped() {
      return stopped;
    },
    stop() {
      stopped = true;
      for (const wake of sleepers) wake();
      sleepers.clear();
    },
    sleep(ms) {
      if (stopped) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          sleepers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        sleepers.add(wake);
      });
    },
  };
}

/** A plain sleep, for waits that must run to their end whatever the signal says. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
