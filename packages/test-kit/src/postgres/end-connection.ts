/** Ending one server connection from outside, as a PostgreSQL restart or a failover would. */
import pg from 'pg';

/**
 * Ends the backend `pid` on the server at `url` (`pg_terminate_backend`), from a connection of its own.
 * @returns whether the server ended it.
 * @example
 * ```ts
 * const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
 * await endServerConnection(POSTGRES_URL, rows[0]!.pid);
 * ```
 */
export async function endServerConnection(url: string, pid: number): Promise<boolean> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ ended: boolean }>(
      'select pg_terminate_backend($1) as ended',
      [pid],
    );
    return rows[0]!.ended;
  } finally {
    await admin.end();
  }
}
