// SPDX-License-Identifier: MIT
// Debian's PgBouncer in front of the STREAMHUB_TEST_PG server, in transaction pooling mode with
// a small pool, for the suites that run StreamHub through it. It runs in the foreground as a
// child of the test (as the postgres user when the tests run as root: PgBouncer refuses root),
// trusts every client like the throwaway server does, and forwards every database name.
import { spawn, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from './harness.mjs';

/** Starts PgBouncer; resolves { url(database), stop(), log() } once it accepts connections. */
export async function startPgBouncer({ poolSize = 4, maxClients = 1000 } = {}) {
  const admin = new URL(process.env.STREAMHUB_TEST_PG);
  const dir = mkdtempSync(path.join(tmpdir(), 'sh-pgbouncer-'));
  const port = await freePort();
  const asRoot = userInfo().uid === 0;
  writeFileSync(path.join(dir, 'users.txt'), `"${admin.username || 'postgres'}" ""\n`);
  writeFileSync(path.join(dir, 'pgbouncer.ini'), `[databases]
* = host=${admin.hostname} port=${admin.port || 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${dir}/users.txt
pool_mode = transaction
default_pool_size = ${poolSize}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = ${maxClients}
max_db_connections = ${poolSize}
server_reset_query =
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
`);
  if (asRoot) for (const f of ['', 'users.txt', 'pgbouncer.ini']) chownSync(path.join(dir, f), pgUid(), -1);
  const proc = spawn('/usr/sbin/pgbouncer', [...(asRoot ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`pgbouncer exited: ${log}`);
    const up = await new Promise((r) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); r(true); });
      c.on('error', () => r(false));
    });
    if (up) break;
    if (i > 200) { proc.kill('SIGKILL'); throw new Error(`pgbouncer did not listen: ${log}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    /** The URL of a database (created on the server itself) through PgBouncer. */
    url(database) {
      const u = new URL(admin);
      u.port = String(port);
      u.pathname = `/${database}`;
      return u.toString();
    },
    log: () => log,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
      return exited;
    },
  };
}

/** The postgres user's uid (getent: from any NSS source). */
function pgUid() {
  const uid = execFileSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).split(':')[2];
  if (!uid) throw new Error('no postgres user to run pgbouncer as (it refuses root)');
  return Number(uid);
}
