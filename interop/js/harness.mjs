// What every client suite here shares: a time limit on each call, scenarios that report one
// line each, and the closing "N passed, M failed" line the Rust tests check.
const results = [];

export function within(promise, what, limitMs = 20000) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${limitMs} ms`)), limitMs);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

export async function scenario(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push(true);
    console.log(`ok     ${name} (${((Date.now() - started) / 1000).toFixed(2)}s)`);
  } catch (e) {
    results.push(false);
    console.log(`FAILED ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

export function finish() {
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
