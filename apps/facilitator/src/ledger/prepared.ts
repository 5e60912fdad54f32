/**
 * Queries built with Kysely once and then run as SQL with bound values: building a query through the builder costs
 * more than running one of the ledger's small indexed statements, and the hot paths run several per payment. With
 * the SQL text fixed, SQLite also reuses its prepared statement (see `sqlite.ts`).
 * @module
 */
import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from 'kysely';

/** Marks a value as a named argument while the query is built; never sent to a database. */
const ARGUMENT = '\u0000x402-argument:';

/**
 * A named argument, for building a query that {@link prepare} compiles once. It is a string, so it fits any column
 * (cast where the column is typed otherwise).
 * @example
 * ```ts
 * const byPayer = prepare(db.selectFrom('x402_settlements').selectAll().where('payer', '=', argument('payer')));
 * ```
 */
export function argument(name: string): string {
  return `${ARGUMENT}${name}`;
}

/** A compiled query: give it the named arguments, run what it returns with `db.executeQuery`. */
export type Prepared = (args: Readonly<Record<string, unknown>>) => CompiledQuery;

/**
 * Compiles a query built with {@link argument} placeholders once; each call binds the arguments by name, in the
 * order the SQL takes them.
 * @throws {Error} when a call leaves out an argument the query names.
 * @example
 * ```ts
 * const { rows } = await db.executeQuery(byPayer({ payer: 'ST2…' }));
 * ```
 */
export function prepare(query: Compilable): Prepared {
  const compiled = query.compile();
  const names = compiled.parameters.map((value) =>
    typeof value === 'string' && value.startsWith(ARGUMENT)
      ? value.slice(ARGUMENT.length)
      : undefined,
  );
  return (args) =>
    CompiledQuery.raw(
      compiled.sql,
      compiled.parameters.map((value, index) => {
        const name = names[index];
        if (name === undefined) return value;
        if (!Object.hasOwn(args, name)) throw new Error(`the query needs the argument ${name}`);
        return args[name];
      }),
    );
}

/**
 * Runs a compiled query outside any transaction. By default `db.executeQuery`; the SQLite opener hands its dialect's
 * shorter path to the same driver, which skips Kysely's connection and plugin steps (a third of a one-row read).
 */
export type QueryRunner = <R>(query: CompiledQuery) => Promise<QueryResult<R>>;

/**
 * The runner a ledger uses: the one given, else `db.executeQuery`.
 * @example
 * ```ts
 * const run = queryRunner(db, options.run);
 * const { rows } = await run<Row>(byPayer({ payer }));
 * ```
 */
export function queryRunner<DB>(db: Kysely<DB>, given: QueryRunner | undefined): QueryRunner {
  return given ?? (<R>(query: CompiledQuery) => db.executeQuery<R>(query));
}
