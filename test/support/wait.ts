/**
 * Waits for something another process or a background loop brings about, instead of
 * sleeping a guessed time: polls `condition` until it returns a truthy value, or until
 * `timeoutMs` has passed, and returns its last value either way. The caller asserts on
 * that value, so a missed deadline fails with the assertion's own message; a slow
 * machine only makes the wait longer.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 25 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
