/**
 * The first-boot script for providers that start a VM rather than a container (Lambda): it installs nothing,
 * only runs the origin image with its environment, the same way `deploy/origin-host.sh` does on a
 * host an operator manages. Values are single-quoted so secrets with shell metacharacters survive intact.
 */

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function assertEnvNames(env: Record<string, string>): void {
  for (const name of Object.keys(env)) {
    if (!ENV_NAME.test(name)) throw new Error(`environment variable name "${name}" is not a shell name`);
  }
}

/** A cloud-init user-data script (`#!/bin/bash` form) that starts the origin container on port 8000. */
export function cloudInitScript(image: string, env: Record<string, string>, port = 8000): string {
  assertEnvNames(env);
  const envFile = Object.entries(env)
    .map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`)
    .join('\n');
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    'install -d -m 700 /etc/aiserve',
    `cat > /etc/aiserve/origin.env <<'AISERVE_ENV'`,
    envFile,
    'AISERVE_ENV',
    'chmod 600 /etc/aiserve/origin.env',
    `docker pull ${shellQuote(image)}`,
    // docker stop waits 10 s by default; the origin's drain may take SHUTDOWN_TIMEOUT_MS (30 s) plus margin.
    `docker run -d --name aiserve-origin --restart unless-stopped --stop-timeout 35 --gpus all -p ${port}:8000 \\`,
    `  --env-file /etc/aiserve/origin.env -e HOST=0.0.0.0 -e PORT=8000 ${shellQuote(image)}`,
    '',
  ].join('\n');
}
