// The notice a user reads when the Fisher products fall back to plain JS: its fix must be one that works for that
// cause on that platform — where no package carries a native binary (accel/platforms.json) it must not send them to
// install one, and where the binary is there but does not load, reinstalling alone is not the answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PLATFORMS from '../../../src/engine/linalg/accel/platforms.json';
import { NATIVE_PLATFORMS, nativeGemmNotice } from '../../../src/engine/linalg/fastest';

// What onnxRuntimeUnavailable() reports in each case (the first line of the loader's error).
const notInstalled = "onnxruntime-node not loadable: Cannot find module 'onnxruntime-node'";
const noBinary = "onnxruntime-node not loadable: Cannot find module '../bin/napi-v6/darwin/x64/onnxruntime_binding.node'";
const doesNotLoad = 'onnxruntime-node not loadable: libonnxruntime.so.1: file too short';
const all = Object.keys(PLATFORMS);

test('the native platforms are those the list gives files for; darwin-x64 is not one', () => {
  assert.deepEqual([...NATIVE_PLATFORMS].sort(), all.filter(p => (PLATFORMS as Record<string, string[]>)[p].length > 0).sort());
  assert.ok(NATIVE_PLATFORMS.includes('linux-x64'));
  assert.ok(!NATIVE_PLATFORMS.includes('darwin-x64'));
});

test('every platform and cause: the cause, the slowdown and one fix, on one line', () => {
  for (const platform of [...all, 'linux-ppc64']) {
    for (const reason of [notInstalled, noBinary, doesNotLoad]) {
      const n = nativeGemmNotice(reason, platform);
      assert.ok(n.includes(reason), `${platform}: the cause is missing`);
      assert.match(n, /plain JavaScript, 20–30× slower/);
      assert.equal(n.match(/Fix: /g)?.length, 1, `${platform}: ${n}`);
      assert.doesNotMatch(n, /\n/);
    }
  }
});

test('no build for the platform (Intel Macs, others): no install is offered, other machines are', () => {
  for (const platform of ['darwin-x64', 'linux-ppc64', 'freebsd-x64']) {
    for (const reason of [notInstalled, noBinary]) {
      const n = nativeGemmNotice(reason, platform);
      assert.doesNotMatch(n, /install the VSIX|npm install/, `${platform}: no package carries a binary, so no install helps`);
      assert.match(n, /Fix: none on this (Mac|machine)/);
      assert.match(n, /Remote-SSH/);
    }
  }
  assert.match(nativeGemmNotice(notInstalled, 'darwin-x64'), /no build for macOS on Intel since version 1\.24/);
});

test('a native platform without the package: install the platform VSIX or reinstall the CLI', () => {
  for (const platform of NATIVE_PLATFORMS) {
    const n = nativeGemmNotice(notInstalled, platform);
    assert.match(n, /Fix: in VS Code install the VSIX built for your platform/, platform);
    assert.match(n, /ONNXRUNTIME_NODE_INSTALL=skip npm install -g woodfisher/, platform);
  }
});

test('a native platform whose binary does not load: the cause comes first, reinstalling second', () => {
  for (const platform of NATIVE_PLATFORMS) {
    const n = nativeGemmNotice(doesNotLoad, platform);
    assert.match(n, /installed but its native library does not load here/, platform);
    assert.match(n, /Fix: provide what the loader's message names/, platform);
    assert.match(n, /for a damaged install: in VS Code install the VSIX/, platform);
  }
});

test('Windows names the runtime library onnxruntime links', () => {
  for (const reason of [notInstalled, doesNotLoad]) {
    assert.match(nativeGemmNotice(reason, 'win32-x64'), /Visual C\+\+ Redistributable \(MSVCP140\.dll\)/);
    assert.doesNotMatch(nativeGemmNotice(reason, 'linux-x64'), /Visual C\+\+/);
  }
});

test('WOODFISHER_LINALG pins the provider: a name that loads is used, js is plain JS, anything else one clear error', async () => {
  const { useFastestGemm, releaseGemm } = await import('../../../src/engine/linalg/fastest');
  const { openBlasUnavailable, onnxRuntimeUnavailable } = await import('../../../src/engine/linalg/accel');
  const { WoodFisherError } = await import('../../../src/engine/types');
  const before = process.env.WOODFISHER_LINALG;
  try {
    releaseGemm();
    delete process.env.WOODFISHER_LINALG;
    const auto = useFastestGemm();
    assert.equal(
      auto,
      !openBlasUnavailable() ? 'openblas-f64' : !onnxRuntimeUnavailable() ? 'onnxruntime-f64' : 'js',
      'auto: fastest that loads',
    );
    for (const [pin, loads] of [
      ['js', true],
      ['onnxruntime-f64', !onnxRuntimeUnavailable()],
      ['openblas-f64', !openBlasUnavailable()],
    ] as const) {
      releaseGemm();
      process.env.WOODFISHER_LINALG = pin;
      if (loads) assert.equal(useFastestGemm(), pin);
      else
        assert.throws(
          () => useFastestGemm(),
          (e: unknown) => e instanceof WoodFisherError && /does not load here/.test(e.message),
        );
    }
    releaseGemm();
    process.env.WOODFISHER_LINALG = 'mkl';
    assert.throws(
      () => useFastestGemm(),
      (e: unknown) =>
        e instanceof WoodFisherError &&
        e.code === 'OPTIONS' &&
        /WOODFISHER_LINALG must be one of openblas-f64, onnxruntime-f64, js/.test(e.message),
    );
  } finally {
    releaseGemm();
    if (before === undefined) delete process.env.WOODFISHER_LINALG;
    else process.env.WOODFISHER_LINALG = before;
  }
});

test('the OpenBLAS addon missing where it ships: the cause, the cost and one fix on one line; no notice when a provider was pinned', async () => {
  const { openBlasNotice, linalgNotice, useFastestGemm, releaseGemm } = await import('../../../src/engine/linalg/fastest');
  const cause = '/x/dist/native/woodfisher-linalg-linux-x64.node is cut short: its section table ends at byte 25292480, the file has 4096';
  const n = openBlasNotice(cause);
  assert.ok(n.includes(cause));
  assert.match(n, /onnxruntime-node, about 2× slower/);
  assert.equal(n.match(/Fix: /g)?.length, 1);
  assert.doesNotMatch(n, /\n/);
  const before = process.env.WOODFISHER_LINALG;
  try {
    for (const pin of ['onnxruntime-f64', 'js']) {
      releaseGemm();
      process.env.WOODFISHER_LINALG = pin;
      try {
        useFastestGemm();
      } catch {
        continue; // onnxruntime-node not here
      }
      assert.equal(linalgNotice(), undefined, `pinned ${pin}: the user chose it`);
    }
  } finally {
    releaseGemm();
    if (before === undefined) delete process.env.WOODFISHER_LINALG;
    else process.env.WOODFISHER_LINALG = before;
  }
});

test("onnxruntime-node missing while OpenBLAS runs the Fisher products: the gradients' products and their cost, one fix, on one line", async () => {
  const { gradientProductsNotice } = await import('../../../src/engine/linalg/fastest');
  const missing = "Cannot find module 'onnxruntime-node'";
  const n = gradientProductsNotice(missing, 'linux-x64');
  assert.ok(n.includes(missing));
  assert.match(n, /per-sample gradient pass and its conv and dense products run on TF\.js, about 4× slower/);
  assert.match(n, /Fix: .*ONNXRUNTIME_NODE_INSTALL=skip npm install -g woodfisher/);
  assert.equal(n.match(/Fix: /g)?.length, 1);
  assert.doesNotMatch(n, /\n/);
  assert.match(
    gradientProductsNotice('libonnxruntime.so.1 is cut short', 'linux-x64'),
    /Fix: provide what the loader's message names; for a damaged install/,
  );
});
