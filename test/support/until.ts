/**
 * Polls `check` until it holds, or fails after `timeoutMs` saying what it waited for. A check that throws has not
 * held yet (a server still starting refuses a request); its last error goes into the failure, with `detail()`, such
 * as the tail of a runtime's log.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  detail?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError === undefined ? "" : `\nlast error: ${String(lastError)}`;
      throw new Error(`timed out waiting for ${what}${cause}${detail ? `\n${detail()}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
