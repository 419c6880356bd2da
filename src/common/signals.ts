/**
 * Resolves on the first SIGINT or SIGTERM, with the signal's name. Long-running
 * commands await it, then close what they started. `keepAlive` holds the event
 * loop open for processes that may have nothing else running (signal handlers
 * alone do not).
 */
export function waitForShutdownSignal(options: { keepAlive?: boolean } = {}): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const timer = options.keepAlive ? setInterval(() => undefined, 1 << 30) : undefined;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (timer) clearInterval(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveSignal(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
