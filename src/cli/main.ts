/**
 * Entry point of the `dynamodb-session` command (package.json "bin"; built to
 * dist/cli/main.js with a shebang).
 */
// Set before the AWS SDK loads, which is why everything else is imported dynamically:
// static imports are hoisted above this line. Its Node-version notice is noise in a CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { run } = await import('./program.js');
const code = await run(process.argv);
// Sockets of the SDK are closed by then; exiting explicitly also covers a stray timer.
process.exit(code);
export {};
