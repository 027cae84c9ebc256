// examples/next: the package's own name means the sources of this repository (jsconfig.json's paths), so the example
// needs no build. An app that installs the package needs none of these settings.
/** @type {import('next').NextConfig} */
export default {
  // The sources are two folders up, outside this app, and import each other as TypeScript's ESM output does ('./web.js'
  // for web.ts): webpack compiles them with these two settings (Turbopack, Next.js's default bundler, cannot yet map
  // .js to .ts, hence `next dev --webpack`).
  experimental: { externalDir: true },
  webpack(config) {
    config.resolve.extensionAlias = { ...config.resolve.extensionAlias, '.js': ['.ts', '.js'] };
    return config;
  },
};
