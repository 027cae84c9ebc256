/**
 * Imported first by the demo's entry points: ESM evaluates imports in order,
 * so this runs before any AWS SDK module reads the variable and prints its
 * Node 20 support warning on every process of the cluster.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
export {};
